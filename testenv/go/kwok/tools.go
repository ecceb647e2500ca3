//go:build tools

// Package tools pins the kwok controller that testenv builds.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
