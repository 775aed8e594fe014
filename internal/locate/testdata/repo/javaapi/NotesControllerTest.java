mvc.perform(get("/api/notes/{id}"));
