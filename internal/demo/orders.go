package demo

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func orderView(o order) map[string]any {
	return map[string]any{
		"id": o.ID, "owner_id": o.OwnerID, "item": o.Item, "quantity": o.Quantity,
		"note": o.Note, "price": math.Round(o.Price*100) / 100, "status": o.Status,
		"created_at": o.CreatedAt.Format(time.RFC3339),
	}
}

func orderViews(list []order) []map[string]any {
	out := make([]map[string]any, 0, len(list))
	for _, o := range list {
		out = append(out, orderView(o))
	}
	return out
}

// Order properties a client may set, and those the server owns (readOnly in openapi.yaml).
var (
	orderWritable = []string{"item", "quantity", "note"}
	orderReadOnly = []string{"id", "owner_id", "price", "status", "created_at"}
)

func (a *app) listOrders(w http.ResponseWriter, r *http.Request, u user) {
	writeJSON(w, http.StatusOK, orderViews(a.store.ordersOf(u.ID)))
}

func (a *app) createOrder(w http.ResponseWriter, r *http.Request, u user) {
	o := order{OwnerID: u.ID}
	if !a.hardened {
		applyLoose(&o, decodeLoose(r))
	} else if !a.applyStrict(w, r, &o, true) {
		return
	}
	o = a.store.addOrder(o)
	w.Header().Set("Location", fmt.Sprintf("/api/v2/orders/%d", o.ID))
	writeJSON(w, http.StatusCreated, orderView(o))
}

// applyLoose is the vulnerable mode's update: no validation (negative quantities and
// overlong notes are stored), wrong types panic, a quantity beyond the database column's
// int4 range fails in the "database", and the server-owned owner_id, price and status are
// taken from the client (mass assignment).
func applyLoose(o *order, m map[string]any) {
	if v, ok := m["item"]; ok {
		o.Item = v.(string)
	}
	if v, ok := m["quantity"]; ok {
		n, err := v.(json.Number).Int64()
		if err != nil {
			panic(fmt.Errorf("parse quantity: %w", err))
		}
		if n > math.MaxInt32 || n < math.MinInt32 {
			panic(fmt.Errorf(`pq: value "%d" is out of range for type integer`, n))
		}
		o.Quantity = n
	}
	if v, ok := m["note"]; ok {
		o.Note = v.(string)
	}
	o.Price = unitPrice(o.Item) * float64(o.Quantity)
	if v, ok := m["owner_id"]; ok {
		id, err := v.(json.Number).Int64()
		if err != nil {
			panic(fmt.Errorf("parse owner_id: %w", err))
		}
		o.OwnerID = id
	}
	if v, ok := m["price"]; ok {
		p, err := v.(json.Number).Float64()
		if err != nil {
			panic(fmt.Errorf("parse price: %w", err))
		}
		o.Price = p
	}
	if v, ok := m["status"]; ok {
		o.Status = v.(string)
	}
}

// applyStrict validates a body against the Order schema and applies it to o. For a create
// or a replace (full), item and quantity are required. The server-owned properties are
// ignored; unknown ones are refused. It answers the error itself and returns false.
func (a *app) applyStrict(w http.ResponseWriter, r *http.Request, o *order, full bool) bool {
	b, ok := a.decodeStrict(w, r, orderWritable, orderReadOnly)
	if !ok {
		return false
	}
	item, hasItem, err := b.str("item", 1, 100)
	if err == nil && full && !hasItem {
		err = &fieldError{"item", "is required"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return false
	}
	qty, hasQty, err := b.integer("quantity", 1, 100)
	if err == nil && full && !hasQty {
		err = &fieldError{"quantity", "is required"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return false
	}
	note, hasNote, err := b.str("note", 0, 200)
	if err != nil {
		a.invalidField(w, r, err)
		return false
	}
	if hasItem {
		o.Item = item
	}
	if hasQty {
		o.Quantity = qty
	}
	if hasNote || full {
		o.Note = note
	}
	o.Price = unitPrice(o.Item) * float64(o.Quantity)
	return true
}

// findOrder loads the order named by the path. The vulnerable mode returns any user's
// order; the hardened mode only the caller's (or any, to an admin), and answers someone
// else's order exactly like a missing one, so that ids cannot be probed.
func (a *app) findOrder(w http.ResponseWriter, r *http.Request, u user) (order, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	o, found := order{}, false
	if err == nil {
		o, found = a.store.order(id)
	}
	if found && a.hardened && o.OwnerID != u.ID && u.Role != "admin" {
		a.log.event(r, slog.LevelWarn, "authz_fail", "access to another user's order refused",
			slog.String("user", u.Username), slog.Int64("order_id", o.ID))
		found = false
	}
	if !found {
		writeProblem(w, http.StatusNotFound, "Not Found", "No such order.")
	}
	return o, found
}

func (a *app) getOrder(w http.ResponseWriter, r *http.Request, u user) {
	if o, ok := a.findOrder(w, r, u); ok {
		writeJSON(w, http.StatusOK, orderView(o))
	}
}

func (a *app) replaceOrder(w http.ResponseWriter, r *http.Request, u user) {
	a.changeOrder(w, r, u, true)
}

func (a *app) patchOrder(w http.ResponseWriter, r *http.Request, u user) {
	a.changeOrder(w, r, u, false)
}

func (a *app) changeOrder(w http.ResponseWriter, r *http.Request, u user, full bool) {
	o, ok := a.findOrder(w, r, u)
	if !ok {
		return
	}
	if !a.hardened {
		applyLoose(&o, decodeLoose(r))
	} else if !a.applyStrict(w, r, &o, full) {
		return
	}
	o, ok = a.store.updateOrder(o.ID, func(x *order) { *x = o })
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "No such order.")
		return
	}
	writeJSON(w, http.StatusOK, orderView(o))
}

func (a *app) deleteOrder(w http.ResponseWriter, r *http.Request, u user) {
	o, ok := a.findOrder(w, r, u)
	if !ok {
		return
	}
	a.store.deleteOrder(o.ID)
	w.WriteHeader(http.StatusNoContent)
}

// exportOrders is deprecated in openapi.yaml; only the hardened mode says so in its
// response headers.
func (a *app) exportOrders(w http.ResponseWriter, r *http.Request, u user) {
	a.deprecated(w)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "item", "quantity", "price", "status", "created_at"})
	for _, o := range a.store.ordersOf(u.ID) {
		_ = cw.Write([]string{
			strconv.FormatInt(o.ID, 10), a.csvCell(o.Item), strconv.FormatInt(o.Quantity, 10),
			strconv.FormatFloat(o.Price, 'f', 2, 64), o.Status, o.CreatedAt.Format(time.RFC3339),
		})
	}
	cw.Flush()
}

// csvCell defuses, in hardened mode, a cell a spreadsheet would run as a formula.
func (a *app) csvCell(s string) string {
	if a.hardened && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// listOrdersV1 is version 1's list, wrapped in {"data": ...}. Through legacy, the
// vulnerable mode calls it for the zero user and so lists every user's orders.
func (a *app) listOrdersV1(w http.ResponseWriter, r *http.Request, u user) {
	writeJSON(w, http.StatusOK, map[string]any{"data": orderViews(a.store.ordersOf(u.ID))})
}

func (a *app) getOrderV1(w http.ResponseWriter, r *http.Request, u user) {
	if o, ok := a.findOrder(w, r, u); ok {
		writeJSON(w, http.StatusOK, orderView(o))
	}
}
