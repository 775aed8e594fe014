package probes

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// A small reader for HTTP Structured Field Values (RFC 9651), enough for the RateLimit,
// RateLimit-Policy and Deprecation fields. Headers come from the server under test, so the
// reader never panics, reads at most sfMaxLen bytes and at most sfMaxMembers members or
// parameters: a hostile header costs linear time in a bounded prefix.

// sfMaxLen is the longest field value parsed; longer values are rejected, not truncated, so
// a cut can never turn an invalid field into a valid one.
const sfMaxLen = 4096

// sfMaxMembers bounds list members, inner-list items and parameters per item.
const sfMaxMembers = 64

var errSF = errors.New("malformed structured field")

// sfToken is a Token bare item, kept apart from String so callers can tell them apart.
type sfToken string

// sfDate is a Date bare item: seconds since the Unix epoch.
type sfDate int64

// sfItem is a bare item (or an inner list, as []sfItem) with its parameters.
type sfItem struct {
	// Value is one of: string, sfToken, int64, float64, bool, []byte, sfDate, []sfItem.
	Value  any
	Params []sfParam
}

type sfParam struct {
	Key   string
	Value any
}

// Param returns the value of the parameter key, and whether it is present.
func (it sfItem) Param(key string) (any, bool) {
	for _, p := range it.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

// IntParam returns the integer parameter key, and whether it is present and an integer.
func (it sfItem) IntParam(key string) (int64, bool) {
	v, ok := it.Param(key)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	return n, ok
}

// Name returns the item's value as text when it is a String or a Token.
func (it sfItem) Name() (string, bool) {
	switch v := it.Value.(type) {
	case string:
		return v, true
	case sfToken:
		return string(v), true
	}
	return "", false
}

type sfDictMember struct {
	Key  string
	Item sfItem
}

type sfParser struct {
	s   string
	pos int
}

func newSFParser(s string) (*sfParser, error) {
	if len(s) > sfMaxLen {
		return nil, errSF
	}
	return &sfParser{s: strings.Trim(s, " \t")}, nil
}

func (p *sfParser) eof() bool { return p.pos >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.pos]
}

func (p *sfParser) skipSP() {
	for !p.eof() && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *sfParser) skipOWS() {
	for !p.eof() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// parseSFList reads a List field value.
func parseSFList(s string) ([]sfItem, error) {
	p, err := newSFParser(s)
	if err != nil {
		return nil, err
	}
	var out []sfItem
	for !p.eof() {
		if len(out) >= sfMaxMembers {
			return nil, errSF
		}
		it, err := p.itemOrInnerList()
		if err != nil {
			return nil, err
		}
		out = append(out, it)
		if err := p.memberSeparator(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseSFDict reads a Dictionary field value.
func parseSFDict(s string) ([]sfDictMember, error) {
	p, err := newSFParser(s)
	if err != nil {
		return nil, err
	}
	var out []sfDictMember
	for !p.eof() {
		if len(out) >= sfMaxMembers {
			return nil, errSF
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		var it sfItem
		if p.peek() == '=' {
			p.pos++
			if it, err = p.itemOrInnerList(); err != nil {
				return nil, err
			}
		} else {
			it.Value = true
			if it.Params, err = p.params(); err != nil {
				return nil, err
			}
		}
		out = append(out, sfDictMember{Key: key, Item: it})
		if err := p.memberSeparator(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parseSFItem reads an Item field value.
func parseSFItem(s string) (sfItem, error) {
	p, err := newSFParser(s)
	if err != nil {
		return sfItem{}, err
	}
	it, err := p.item()
	if err != nil {
		return sfItem{}, err
	}
	if !p.eof() {
		return sfItem{}, errSF
	}
	return it, nil
}

// memberSeparator consumes ", " between members; a trailing comma is an error.
func (p *sfParser) memberSeparator() error {
	p.skipOWS()
	if p.eof() {
		return nil
	}
	if p.peek() != ',' {
		return errSF
	}
	p.pos++
	p.skipOWS()
	if p.eof() {
		return errSF
	}
	return nil
}

func (p *sfParser) itemOrInnerList() (sfItem, error) {
	if p.peek() != '(' {
		return p.item()
	}
	p.pos++
	var inner []sfItem
	for {
		p.skipSP()
		if p.eof() {
			return sfItem{}, errSF
		}
		if p.peek() == ')' {
			p.pos++
			break
		}
		if len(inner) >= sfMaxMembers {
			return sfItem{}, errSF
		}
		it, err := p.item()
		if err != nil {
			return sfItem{}, err
		}
		inner = append(inner, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return sfItem{}, errSF
		}
	}
	params, err := p.params()
	if err != nil {
		return sfItem{}, err
	}
	return sfItem{Value: inner, Params: params}, nil
}

func (p *sfParser) item() (sfItem, error) {
	v, err := p.bareItem()
	if err != nil {
		return sfItem{}, err
	}
	params, err := p.params()
	if err != nil {
		return sfItem{}, err
	}
	return sfItem{Value: v, Params: params}, nil
}

func (p *sfParser) params() ([]sfParam, error) {
	var out []sfParam
	for p.peek() == ';' {
		p.pos++
		p.skipSP()
		if len(out) >= sfMaxMembers {
			return nil, errSF
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		var v any = true
		if p.peek() == '=' {
			p.pos++
			if v, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		// A repeated key overwrites the earlier value (RFC 9651 4.2.3.2).
		replaced := false
		for i := range out {
			if out[i].Key == key {
				out[i].Value, replaced = v, true
			}
		}
		if !replaced {
			out = append(out, sfParam{Key: key, Value: v})
		}
	}
	return out, nil
}

func (p *sfParser) key() (string, error) {
	c := p.peek()
	if !(c >= 'a' && c <= 'z') && c != '*' {
		return "", errSF
	}
	start := p.pos
	for !p.eof() {
		c := p.s[p.pos]
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			c == '.' || c == '*' {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos], nil
}

func (p *sfParser) bareItem() (any, error) {
	c := p.peek()
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == '"':
		return p.str()
	case c == '*' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		return p.token(), nil
	case c == ':':
		return p.bytes()
	case c == '?':
		if p.pos+1 < len(p.s) && (p.s[p.pos+1] == '0' || p.s[p.pos+1] == '1') {
			v := p.s[p.pos+1] == '1'
			p.pos += 2
			return v, nil
		}
		return nil, errSF
	case c == '@':
		p.pos++
		n, err := p.number()
		if err != nil {
			return nil, err
		}
		i, ok := n.(int64)
		if !ok {
			return nil, errSF
		}
		return sfDate(i), nil
	}
	return nil, errSF
}

// number reads an Integer (at most 15 digits) or a Decimal (at most 12.3 digits).
func (p *sfParser) number() (any, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	digits, dot := 0, -1
	for !p.eof() {
		c := p.s[p.pos]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' && dot < 0 {
			if digits > 12 {
				return nil, errSF
			}
			dot = digits
		} else {
			break
		}
		p.pos++
		if digits > 15 {
			return nil, errSF
		}
	}
	if digits == 0 {
		return nil, errSF
	}
	text := p.s[start:p.pos]
	if dot < 0 {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, errSF
		}
		return n, nil
	}
	if frac := digits - dot; frac < 1 || frac > 3 {
		return nil, errSF
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, errSF
	}
	return f, nil
}

func (p *sfParser) str() (any, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '\\':
			if p.eof() {
				return nil, errSF
			}
			n := p.s[p.pos]
			if n != '"' && n != '\\' {
				return nil, errSF
			}
			b.WriteByte(n)
			p.pos++
		case c == '"':
			return b.String(), nil
		case c < 0x20 || c > 0x7e:
			return nil, errSF
		default:
			b.WriteByte(c)
		}
	}
	return nil, errSF
}

func (p *sfParser) token() sfToken {
	start := p.pos
	p.pos++
	for !p.eof() && (isTChar(p.s[p.pos]) || p.s[p.pos] == ':' || p.s[p.pos] == '/') {
		p.pos++
	}
	return sfToken(p.s[start:p.pos])
}

func isTChar(c byte) bool {
	if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *sfParser) bytes() (any, error) {
	p.pos++ // opening colon
	end := strings.IndexByte(p.s[p.pos:], ':')
	if end < 0 {
		return nil, errSF
	}
	b, err := base64.StdEncoding.DecodeString(p.s[p.pos : p.pos+end])
	if err != nil {
		return nil, errSF
	}
	p.pos += end + 1
	return b, nil
}
