//go:build tools

// Package tools pins the Dex identity provider that testenv builds.
package tools

import (
	_ "github.com/dexidp/dex/cmd/dex"
)
