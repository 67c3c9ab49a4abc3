package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

// vrec is what Verify needs of a record. Its byte slices point into the
// line, which the source may reuse after the next line: the chain copies
// what it keeps.
type vrec struct {
	version  int
	seq      uint64
	kind     Kind
	log      []byte // 32 hex digits
	prev     []byte // 64 hex digits
	hash     []byte // 64 hex digits
	timeText []byte
	// checkpoint members
	reason, keyID, sig []byte
	// gap
	dropped uint64
}

// lineDecoder decodes lines for Verify: first through a fast path that
// reads the layout the writer produces without allocating, and, for any
// line the fast path does not take, through DecodeLine, which defines what
// a valid record is. The fast path only ever accepts a line that DecodeLine
// accepts, with the same members (FuzzFastDecode checks it).
type lineDecoder struct {
	sum  hash.Hash
	buf  [sha256.Size]byte
	hash [64]byte
}

func newLineDecoder() *lineDecoder { return &lineDecoder{sum: sha256.New()} }

// decode fills r from line. On failure it returns an error wrapping
// ErrMalformed or ErrHashMismatch; r.seq is set when the line's seq could
// be read (hash mismatch).
func (d *lineDecoder) decode(line []byte, r *vrec) error {
	*r = vrec{}
	if d.fast(line, r) {
		return nil
	}
	rec, err := DecodeLine(line)
	if rec != nil {
		r.seq = rec.Seq
	}
	if err != nil {
		return err
	}
	r.version, r.kind = rec.Version, rec.Kind
	r.log, r.prev, r.hash, r.timeText = []byte(rec.LogID), []byte(rec.Prev), []byte(rec.Hash), []byte(rec.timeText)
	switch rec.Kind {
	case KindCheckpoint:
		r.reason, r.keyID, r.sig = []byte(rec.Checkpoint.Reason), []byte(rec.Checkpoint.KeyID), []byte(rec.Checkpoint.Sig)
	case KindGap:
		r.dropped = rec.Gap.Dropped
	}
	return nil
}

// fast decodes the two kinds that make up nearly every log — events and
// checkpoints — in exactly the layout seal writes. It returns false for
// anything else, and for any detail it does not check as DecodeLine would
// (escapes in checked strings, nulls, unusual members), leaving the line
// to DecodeLine. A line whose layout it reads but whose hash does not match
// is also left to DecodeLine, which reports it.
func (d *lineDecoder) fast(line []byte, r *vrec) bool {
	n := len(line)
	if n < hashSuffixLen+2 {
		return false
	}
	suffix := line[n-hashSuffixLen:]
	if !bytes.HasPrefix(suffix, []byte(`,"hash":"`)) || suffix[len(suffix)-2] != '"' || suffix[len(suffix)-1] != '}' {
		return false
	}
	wantHash := suffix[9 : 9+64]
	if !isLowerHexBytes(wantHash) {
		return false
	}
	d.sum.Reset()
	d.sum.Write(line[:n-hashSuffixLen])
	d.sum.Write([]byte{'}'})
	hex.Encode(d.hash[:], d.sum.Sum(d.buf[:0]))
	if !bytes.Equal(d.hash[:], wantHash) {
		return false
	}
	r.hash = wantHash
	body := line[:n-hashSuffixLen] // the body without its closing brace

	p := fastParser{b: body}
	if !p.lit(`{"v":`) {
		return false
	}
	switch {
	case p.lit("1"):
		r.version = 1
	case p.lit("2"):
		r.version = 2
	default:
		return false
	}
	var ok bool
	if !p.lit(`,"seq":`) {
		return false
	}
	if r.seq, ok = p.uint(); !ok || r.seq == 0 {
		return false
	}
	var kind []byte
	if !p.lit(`,"kind":`) {
		return false
	}
	if kind, ok = p.plainString(); !ok {
		return false
	}
	if !p.lit(`,"time":`) {
		return false
	}
	if r.timeText, ok = p.plainString(); !ok {
		return false
	}
	if !p.lit(`,"log":`) {
		return false
	}
	if r.log, ok = p.plainString(); !ok || len(r.log) != 32 || !isLowerHexBytes(r.log) {
		return false
	}
	if !p.lit(`,"prev":`) {
		return false
	}
	if r.prev, ok = p.plainString(); !ok || len(r.prev) != 64 || !isLowerHexBytes(r.prev) {
		return false
	}
	if _, err := time.Parse(time.RFC3339Nano, string(r.timeText)); err != nil {
		return false
	}
	switch string(kind) {
	case string(KindEvent):
		r.kind = KindEvent
		return p.eventMembers() && p.i == len(p.b)
	case string(KindCheckpoint):
		r.kind = KindCheckpoint
		if !p.lit(`,"checkpoint":{"reason":`) {
			return false
		}
		// The signed members are taken only in ASCII: DecodeLine would read
		// invalid UTF-8 as U+FFFD, and the signature is over what it reads.
		if r.reason, ok = p.plainString(); !ok || len(r.reason) == 0 || !isASCII(r.reason) {
			return false
		}
		if !p.lit(`,"key_id":`) {
			return false
		}
		if r.keyID, ok = p.plainString(); !ok || len(r.keyID) != 16 || !isLowerHexBytes(r.keyID) {
			return false
		}
		if !p.lit(`,"sig":`) {
			return false
		}
		if r.sig, ok = p.plainString(); !ok || len(r.sig) == 0 || !isASCII(r.sig) {
			return false
		}
		return p.lit("}") && p.i == len(p.b)
	}
	return false
}

// fastParser reads JSON in the writer's layout. Its methods return false
// for anything they do not take, never an error: the caller then falls
// back to DecodeLine.
type fastParser struct {
	b     []byte
	i     int
	depth int
}

func (p *fastParser) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// uint reads an unsigned decimal without leading zeros that fits in 64 bits.
func (p *fastParser) uint() (uint64, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || len(digits) > 20 || (digits[0] == '0' && len(digits) > 1) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	return n, err == nil
}

// plainString reads a string without escapes or control characters and
// returns its content.
func (p *fastParser) plainString() ([]byte, bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// skipString checks a string with any valid escapes.
func (p *fastParser) skipString() bool {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return false
	}
	for j := p.i + 1; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if j+1 >= len(p.b) {
				return false
			}
			switch p.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+5 >= len(p.b) {
					return false
				}
				for _, h := range p.b[j+2 : j+6] {
					if !isHexDigit(h) {
						return false
					}
				}
				j += 5
			default:
				return false
			}
		}
	}
	return false
}

// maxFastDepth bounds nesting on the fast path, well under encoding/json's
// own limit; deeper values go to DecodeLine.
const maxFastDepth = 100

// skipValue checks one JSON value of any kind.
func (p *fastParser) skipValue() bool {
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.skipString()
	case c == '{':
		return p.skipObject()
	case c == '[':
		if p.depth++; p.depth > maxFastDepth {
			return false
		}
		p.i++
		if p.lit("]") {
			p.depth--
			return true
		}
		for {
			if !p.skipValue() {
				return false
			}
			if p.lit("]") {
				p.depth--
				return true
			}
			if !p.lit(",") {
				return false
			}
		}
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.skipNumber()
	}
	return false
}

func (p *fastParser) skipObject() bool {
	if !p.lit("{") {
		return false
	}
	if p.depth++; p.depth > maxFastDepth {
		return false
	}
	if p.lit("}") {
		p.depth--
		return true
	}
	for {
		if !p.skipString() || !p.lit(":") || !p.skipValue() {
			return false
		}
		if p.lit("}") {
			p.depth--
			return true
		}
		if !p.lit(",") {
			return false
		}
	}
}

// skipNumber checks JSON's number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *fastParser) skipNumber() bool {
	b, i := p.b, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	p.i = i
	return true
}

// The members an event may hold after the chain header, in the order
// eventWire encodes them.
var eventMemberOrder = []string{"actor", "action", "resource", "outcome", "reason", "tenant",
	"request_id", "trace_id", "span_id", "before", "after", "metadata"}

// eventMembers reads the event members in eventWire's order, each at most
// once, as DecodeLine would take them: actor and resource objects of known
// string members, string fields, and before, after and metadata objects.
// The action must be non-empty and the outcome one of the three.
func (p *fastParser) eventMembers() bool {
	next := 0
	sawAction, sawOutcome := false, false
	for p.lit(",") {
		name, ok := p.plainString()
		if !ok || !p.lit(":") {
			return false
		}
		k := next
		for k < len(eventMemberOrder) && eventMemberOrder[k] != string(name) {
			k++
		}
		if k == len(eventMemberOrder) {
			return false // unknown, repeated or out of order: DecodeLine decides
		}
		next = k + 1
		switch eventMemberOrder[k] {
		case "actor":
			if !p.flatObject("id", "type", "ip", "user_agent") {
				return false
			}
		case "resource":
			if !p.flatObject("type", "id") {
				return false
			}
		case "action":
			s, ok := p.plainString()
			if !ok || len(s) == 0 {
				return false
			}
			sawAction = true
		case "outcome":
			s, ok := p.plainString()
			if !ok || !Outcome(s).valid() {
				return false
			}
			sawOutcome = true
		case "before", "after", "metadata":
			if p.i >= len(p.b) || p.b[p.i] != '{' || !p.skipObject() {
				return false
			}
		default: // reason, tenant, request_id, trace_id, span_id
			if !p.skipString() {
				return false
			}
		}
	}
	return sawAction && sawOutcome
}

// flatObject reads an object whose members are among names, in that order,
// each a string.
func (p *fastParser) flatObject(names ...string) bool {
	if !p.lit("{") {
		return false
	}
	if p.lit("}") {
		return true
	}
	next := 0
	for {
		name, ok := p.plainString()
		if !ok || !p.lit(":") {
			return false
		}
		k := next
		for k < len(names) && names[k] != string(name) {
			k++
		}
		if k == len(names) || !p.skipString() {
			return false
		}
		next = k + 1
		if p.lit("}") {
			return true
		}
		if !p.lit(",") {
			return false
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// lowerHex marks the bytes of lowercase hex digits.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

func isLowerHexBytes(b []byte) bool {
	ok := true
	for _, c := range b {
		ok = ok && lowerHex[c] // no early exit: a branch per byte costs more than the rare bad line saves
	}
	return ok
}
