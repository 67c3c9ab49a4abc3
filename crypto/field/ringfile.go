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
	cfg    RingFileConfig
	mu     sync.Mutex // serialises Reload
	ring   atomic.Pointer[Ring]
	keyset atomic.Pointer[Keyset]
}

// RingFileConfig is what Config gives a Ring beyond the keys, which a
// RingFile reads from its file.
type RingFileConfig struct {
	// Encryptions are the counts of values already encrypted under keys, by
	// key ID, as in Config.Encryptions: the Rings count on from there.
	// Counts carry over from one Ring to the next on Reload; a key a reload
	// finds for the first time starts from its entry here, if any. Entries
	// for keys the file does not hold (retired, or not staged yet) are
	// ignored, unlike in Config.Encryptions: the file changes under a
	// running service.
	Encryptions map[uint32]uint64
	// NearLimit is Config.NearLimit for every Ring the RingFile serves:
	// called once per key when its count reaches half its message limit.
	NearLimit func(KeyUsage)
}

// OpenRingFile reads the key ring file at path (see ReadKeysetFile). It is
// OpenRingFileWith with no counts and no NearLimit.
func OpenRingFile(path string) (*RingFile, error) {
	return OpenRingFileWith(path, RingFileConfig{})
}

// OpenRingFileWith reads the key ring file at path (see ReadKeysetFile) and
// serves Rings built with cfg's counts and NearLimit callback.
func OpenRingFileWith(path string, cfg RingFileConfig) (*RingFile, error) {
	f := &RingFile{path: path, cfg: cfg}
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
	return f.swap(ks)
}

// swap builds ks's Ring and puts it in service; f.mu is held.
func (f *RingFile) swap(ks *Keyset) error {
	var counts map[uint32]uint64
	for _, k := range ks.Keys {
		if n, ok := f.cfg.Encryptions[k.ID]; ok {
			if counts == nil {
				counts = map[uint32]uint64{}
			}
			counts[k.ID] = n
		}
	}
	r, err := New(Config{Keys: ks.Keys, Primary: ks.Primary, Encryptions: counts, NearLimit: f.cfg.NearLimit})
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
