const express = require('express');
const router = express.Router();

router.get('/orders/:orderId', (req, res) => res.json({}));
router.patch('/orders/:orderId', (req, res) => res.json({}));
app.use('/shop', router);
app.get("/static/app.js", serve);
