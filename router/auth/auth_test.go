package auth

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// A login of an unknown user checks the password against dummyHash, so that it takes as
// long as a known user's: it must be a whole bcrypt hash, of the default cost that
// hash-password gives users' hashes.
func TestDummyHashCostsAsMuchAsAUsersHash(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash)
	if err != nil {
		t.Fatalf("dummyHash is not a bcrypt hash: %v", err)
	}
	if cost != bcrypt.DefaultCost {
		t.Errorf("dummyHash has cost %d, users' hashes %d", cost, bcrypt.DefaultCost)
	}
	if err := bcrypt.CompareHashAndPassword(dummyHash, []byte("alertrouter")); err != nil {
		t.Errorf("dummyHash is not whole: %v", err)
	}
}
