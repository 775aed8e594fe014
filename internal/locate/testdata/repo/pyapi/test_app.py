client.get("/api/tickets/{ticket}")
