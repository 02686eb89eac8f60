// Package archtest holds the tests that keep the code true to ARCHITECTURE.md: the layers of
// packages and which may import which, and the embedding API that shows no internal type.
package archtest
