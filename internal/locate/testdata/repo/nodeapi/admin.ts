import { Router } from "express";
export const admin = Router();
admin.delete(`/admin/accounts/:id`, remove);
