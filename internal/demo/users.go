package demo

import (
	"log/slog"
	"net/http"
	"time"
)

// userView is what the API shows of a user. The vulnerable mode shows everything it stores,
// the password hash and API key included.
func (a *app) userView(u user) map[string]any {
	v := map[string]any{
		"id": u.ID, "username": u.Username, "email": u.Email,
		"display_name": u.DisplayName, "role": u.Role,
		"created_at": u.CreatedAt.Format(time.RFC3339),
	}
	if !a.hardened {
		v["is_admin"] = u.IsAdmin
		v["password_hash"] = u.PasswordHash
		v["api_key"] = u.APIKey
	}
	return v
}

func (a *app) getMe(w http.ResponseWriter, r *http.Request, u user) {
	writeJSON(w, http.StatusOK, a.userView(u))
}

// patchMe changes the caller's profile. The vulnerable mode stores role and is_admin from
// the body (mass assignment); the hardened mode accepts display_name and email only,
// ignores the read-only properties and refuses anything else.
func (a *app) patchMe(w http.ResponseWriter, r *http.Request, u user) {
	if !a.hardened {
		m := decodeLoose(r)
		u, _ = a.store.update(u.ID, func(x *user) {
			if v, ok := m["display_name"]; ok {
				x.DisplayName = v.(string)
			}
			if v, ok := m["email"]; ok {
				x.Email = v.(string)
			}
			if v, ok := m["role"]; ok {
				x.Role = v.(string)
			}
			if v, ok := m["is_admin"]; ok {
				x.IsAdmin = v.(bool)
			}
		})
		writeJSON(w, http.StatusOK, a.userView(u))
		return
	}
	b, ok := a.decodeStrict(w, r, []string{"display_name", "email"},
		[]string{"id", "username", "role", "created_at"})
	if !ok {
		return
	}
	name, hasName, err := b.str("display_name", 1, 64)
	if err != nil {
		a.invalidField(w, r, err)
		return
	}
	email, hasEmail, err := b.str("email", 3, 254)
	if err == nil && hasEmail && !validEmail(email) {
		err = &fieldError{"email", "must be an e-mail address"}
	}
	if err != nil {
		a.invalidField(w, r, err)
		return
	}
	u, _ = a.store.update(u.ID, func(x *user) {
		if hasName {
			x.DisplayName = name
		}
		if hasEmail {
			x.Email = email
		}
	})
	a.log.event(r, slog.LevelInfo, "user_updated", "profile updated", slog.String("user", u.Username))
	writeJSON(w, http.StatusOK, a.userView(u))
}

// listUsers shows every user with secrets in vulnerable mode; in hardened mode a plain user
// sees only itself and an admin sees everyone, without secrets.
func (a *app) listUsers(w http.ResponseWriter, r *http.Request, u user) {
	var list []user
	if !a.hardened || u.Role == "admin" {
		list = a.store.allUsers()
	} else {
		list = []user{u}
	}
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		out = append(out, a.userView(x))
	}
	writeJSON(w, http.StatusOK, out)
}
