//go:build tools

// Package tools pins the mailpit SMTP catcher that testenv builds.
package tools

import (
	_ "github.com/axllent/mailpit"
)
