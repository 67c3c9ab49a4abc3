package field

// NeedsReencrypt reports whether a ciphertext was made under a key other
// than the primary (or with another algorithm), so that a background re-key
// job can find the rows to rewrite. It reads only the header: a value it
// calls current can still fail to decrypt if it was tampered with.
func (r *Ring) NeedsReencrypt(ciphertext []byte) (bool, error) {
	h, err := parseHeader(ciphertext)
	if err != nil {
		return false, err
	}
	return h.keyID != r.primary.id || h.alg != r.primary.alg, nil
}

// Reencrypt decrypts ciphertext and, if it was not made under the primary
// key, encrypts it again under the primary key with the same context. It
// returns the ciphertext to store and whether it changed; an unchanged value
// is still authenticated first, so a re-key job also finds corrupt rows.
func (r *Ring) Reencrypt(ciphertext, context []byte) (out []byte, changed bool, err error) {
	pt, err := r.Decrypt(ciphertext, context)
	if err != nil {
		return nil, false, err
	}
	defer clear(pt)
	needs, _ := r.NeedsReencrypt(ciphertext) // the header parsed in Decrypt
	if !needs {
		return ciphertext, false, nil
	}
	out, err = r.Encrypt(pt, context)
	return out, err == nil, err
}
