package field

import (
	"sync"
	"sync/atomic"
)

// RingFile serves the Ring of a key ring file and reloads it on request, so
// that a running service picks up a staged, promoted or retired key (for
// example on SIGHUP) without a restart. The encryptions counted under each
// key (Ring.Usage) carry over from one Ring to the next. It implements
// Cipher, so the database/sql types can use it directly and always encrypt
// under the current primary key. It is safe for concurrent use and starts no
// goroutine.
type RingFile struct {
	path   string
	mu     sync.Mutex // serialises Reload
	ring   atomic.Pointer[Ring]
	keyset atomic.Pointer[Keyset]
}

// OpenRingFile reads the key ring file at path (see ReadKeysetFile).
func OpenRingFile(path string) (*RingFile, error) {
	f := &RingFile{path: path}
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Reload reads the file again and swaps in its Ring. On any error the
// current Ring stays in service and the error is returned, so a half-edited
// or unreadable file never takes encryption down.
func (f *RingFile) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ks, err := ReadKeysetFile(f.path)
	if err != nil {
		return err
	}
	r, err := ks.Ring()
	if err != nil {
		return err
	}
	r.adoptUsage(f.ring.Load()) // encryption counts go on across reloads
	f.keyset.Store(ks)
	f.ring.Store(r)
	return nil
}

// Ring returns the Ring now in service.
func (f *RingFile) Ring() *Ring { return f.ring.Load() }

// IndexKey returns the blind-index root key of the file now in service.
func (f *RingFile) IndexKey() Secret[[]byte] { return f.keyset.Load().IndexKey }

// Encrypt encrypts under the current primary key (see Ring.Encrypt).
func (f *RingFile) Encrypt(plaintext, context []byte) ([]byte, error) {
	return f.ring.Load().Encrypt(plaintext, context)
}

// Decrypt decrypts with the current keys (see Ring.Decrypt).
func (f *RingFile) Decrypt(ciphertext, context []byte) ([]byte, error) {
	return f.ring.Load().Decrypt(ciphertext, context)
}
