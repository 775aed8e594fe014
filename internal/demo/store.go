package demo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// user is an account. password_hash and api_key are the secrets the vulnerable mode leaks.
type user struct {
	ID           int64
	Username     string
	Email        string
	DisplayName  string
	Role         string // "user" or "admin"
	IsAdmin      bool
	PasswordHash string
	APIKey       string
	CreatedAt    time.Time
}

// order is a shop order. OwnerID, Price and Status are the server's to set; the vulnerable
// mode lets a client set them.
type order struct {
	ID        int64
	OwnerID   int64
	Item      string
	Quantity  int64
	Note      string
	Price     float64
	Status    string
	CreatedAt time.Time
}

// product is a catalogue entry, public in both modes.
type product struct {
	ID    int64   `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

var catalogue = []product{
	{1, "espresso beans", 12.50},
	{2, "filter coffee", 9.90},
	{3, "green tea", 7.20},
	{4, "coffee grinder", 49.00},
	{5, "milk frother", 24.90},
}

// unitPrice is the catalogue price of item, or a default for anything else.
func unitPrice(item string) float64 {
	for _, p := range catalogue {
		if strings.EqualFold(p.Name, item) {
			return p.Price
		}
	}
	return 9.90
}

// store holds users and orders in memory. It is safe for concurrent use; values are
// returned as copies.
type store struct {
	mu         sync.Mutex
	users      []*user
	orders     map[int64]*order
	nextUserID int64
	nextOrder  int64
	hashCost   int
	// dummyHash is compared against when a login names no user, so that the answer takes
	// as long as for a real one.
	dummyHash string
}

func newStore(hashCost int) (*store, error) {
	s := &store{orders: map[int64]*order{}, nextUserID: 1, nextOrder: 1001, hashCost: hashCost}
	seed := []struct {
		c     Credential
		email string
		name  string
		role  string
	}{
		{Admin, "admin@shop.example.invalid", "Shop Admin", "admin"},
		{Alice, "alice@shop.example.invalid", "Alice Liddell", "user"},
		{Bob, "bob@shop.example.invalid", "Bob Builder", "user"},
	}
	// Hash the seeded passwords in parallel first (hashPassword caches them): bcrypt at the
	// hardened cost is most of the start-up time.
	var wg sync.WaitGroup
	for _, u := range seed {
		wg.Go(func() { _, _ = hashPassword(u.c.Password, hashCost) })
	}
	wg.Wait()
	for _, u := range seed {
		nu, err := s.addUser(u.c.Username, u.c.Password, u.email, u.role)
		if err != nil {
			return nil, err
		}
		s.update(nu.ID, func(x *user) { x.DisplayName = u.name; x.IsAdmin = u.role == "admin" })
		s.dummyHash = nu.PasswordHash
	}
	for _, o := range []order{
		{OwnerID: 1, Item: "coffee grinder", Quantity: 1, Note: "office kitchen"},
		{OwnerID: 2, Item: "espresso beans", Quantity: 2, Note: "ring twice"},
		{OwnerID: 3, Item: "green tea", Quantity: 3, Note: "leave at the door"},
	} {
		s.addOrder(o)
	}
	return s, nil
}

// errUserExists is returned by addUser for a taken username.
var errUserExists = fmt.Errorf("username taken")

// addUser creates a user with a bcrypt hash of password and a fresh API key.
func (s *store) addUser(username, password, email, role string) (user, error) {
	hash, err := hashPassword(password, s.hashCost)
	if err != nil {
		return user{}, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.Username, username) {
			return user{}, errUserExists
		}
	}
	u := &user{
		ID: s.nextUserID, Username: username, Email: email, DisplayName: username,
		Role: role, PasswordHash: hash, APIKey: "sk_live_" + hex.EncodeToString(key),
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	s.nextUserID++
	s.users = append(s.users, u)
	return *u, nil
}

func (s *store) userByName(name string) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.Username == name {
			return *u, true
		}
	}
	return user{}, false
}

func (s *store) userByID(id int64) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == id {
			return *u, true
		}
	}
	return user{}, false
}

func (s *store) allUsers() []user {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]user, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, *u)
	}
	return out
}

// update applies change to the user with id and returns the result.
func (s *store) update(id int64, change func(*user)) (user, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == id {
			change(u)
			return *u, true
		}
	}
	return user{}, false
}

func (s *store) addOrder(o order) order {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.ID = s.nextOrder
	s.nextOrder++
	if o.Status == "" {
		o.Status = "pending"
	}
	if o.Price == 0 {
		o.Price = unitPrice(o.Item) * float64(o.Quantity)
	}
	o.CreatedAt = time.Now().UTC().Truncate(time.Second)
	s.orders[o.ID] = &o
	return o
}

func (s *store) order(id int64) (order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return order{}, false
	}
	return *o, true
}

// updateOrder applies change to order id and returns the result.
func (s *store) updateOrder(id int64, change func(*order)) (order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return order{}, false
	}
	change(o)
	return *o, true
}

func (s *store) deleteOrder(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.orders[id]
	delete(s.orders, id)
	return ok
}

// ordersOf returns the orders of owner, or every order when owner is 0, by id.
func (s *store) ordersOf(owner int64) []order {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []order{}
	for _, o := range s.orders {
		if owner == 0 || o.OwnerID == owner {
			out = append(out, *o)
		}
	}
	slices.SortFunc(out, func(a, b order) int { return int(a.ID - b.ID) })
	return out
}

// hashCache remembers the seeded users' hashes, so that starting many demo servers (tests,
// benchmarks) pays for bcrypt once per password and cost.
var hashCache sync.Map

func hashPassword(password string, cost int) (string, error) {
	key := fmt.Sprintf("%d\x00%s", cost, password)
	if h, ok := hashCache.Load(key); ok {
		return h.(string), nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	if isSeeded(password) {
		hashCache.Store(key, string(h))
	}
	return string(h), nil
}

func isSeeded(password string) bool {
	return password == Alice.Password || password == Bob.Password || password == Admin.Password
}
