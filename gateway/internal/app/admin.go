package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/triggergate/triggergate/gateway/internal/config"
)

// AdminTokenFile is where a gateway without admin_token keeps the token
// it generated, in its data_dir.
const AdminTokenFile = "admin-token"

// AdminToken returns the admin API's bearer token: admin_token when the
// configuration sets it, else the one kept in <data_dir>/admin-token.
// With create, a missing file is made with a new random token, readable
// by its owner only; without, a missing file is an error that says what
// to do.
func AdminToken(cfg *config.Config, create bool) (string, error) {
	if cfg.Gateway.AdminToken != "" {
		return cfg.Gateway.AdminToken, nil
	}
	path := filepath.Join(cfg.Gateway.DataDir, AdminTokenFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		if !create {
			return "", fmt.Errorf("%s is empty", path)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("reading the admin token: %w", err)
	case !create:
		return "", fmt.Errorf("no admin token: set gateway { admin_token } or TRIGGERGATE_ADMIN_TOKEN, or run this where the gateway's %s is readable", path)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(cfg.Gateway.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("creating the data_dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the admin token: %w", err)
	}
	return token, nil
}
