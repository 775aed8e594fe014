package goapi

import "net/http"

func routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/invoices/{id}", getInvoice)
	mux.HandleFunc("DELETE /api/v1/invoices/{id}", deleteInvoice)
	mux.HandleFunc("/healthz", health)
}
