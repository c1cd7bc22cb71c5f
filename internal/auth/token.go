// Package auth makes API tokens and the hashes they are stored under.
// Tokens carry 256 random bits, so a plain SHA-256 suffices to store them:
// there is nothing to brute-force that a slow hash would protect.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Prefix marks bumpserve tokens, so a leaked one is recognisable.
const Prefix = "bst_"

// NewToken returns a fresh token and its hash.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = Prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, Hash(token)
}

// Hash is the form a token is stored and looked up under.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return h[:]
}

// CapabilityPrefix marks an anonymous job's capability.
const CapabilityPrefix = "cap_"

// NewCapability returns a fresh capability (an unguessable name for one
// anonymous job) and its hash.
func NewCapability() (capability string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	capability = CapabilityPrefix + base64.RawURLEncoding.EncodeToString(b)
	return capability, Hash(capability)
}
