<?php
$app->get('/api/tickets/{ticket}', TicketController::class);
