request(app).get('/admin/accounts/:id').expect(401);
