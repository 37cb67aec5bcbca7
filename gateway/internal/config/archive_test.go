package config_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/triggergate/triggergate/gateway/internal/config"
)

func TestArchiveBlock(t *testing.T) {
	cfg, diags := config.LoadFiles(map[string][]byte{"g.hcl": []byte(`
gateway {
  data_dir = "/var/lib/tg"
  archive {}
}`)}, ".")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	a := cfg.Gateway.Archive
	if a == nil || a.Dir != filepath.Join("/var/lib/tg", "archive") || a.MaxFileBytes != config.DefaultArchiveFileBytes || a.MaxFiles != config.DefaultArchiveFiles || a.MaxAge != 0 {
		t.Fatalf("defaults = %+v", a)
	}
	cfg, diags = config.LoadFiles(map[string][]byte{"g.hcl": []byte(`
gateway {
  archive {
    dir           = "/srv/archive"
    max_file_size = "8MiB"
    max_files     = 10
    max_age       = "720h"
  }
}`)}, ".")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if a := cfg.Gateway.Archive; a.Dir != "/srv/archive" || a.MaxFileBytes != 8<<20 || a.MaxFiles != 10 || a.MaxAge != 720*time.Hour {
		t.Fatalf("archive = %+v", a)
	}
	if cfg, _ := config.LoadFiles(map[string][]byte{"g.hcl": []byte(`gateway {}`)}, "."); cfg.Gateway.Archive != nil {
		t.Fatal("archive on without a block")
	}
	for src, want := range map[string]string{
		`max_file_size = "tiny"`: "g.hcl:3,5-27: Invalid max_file_size",
		`max_files = 0`:          "g.hcl:3,5-18: Invalid max_files",
		`max_age = "forever"`:    "g.hcl:3,5-24: Invalid duration",
		`dir = ""`:               "g.hcl:3,5-13: Invalid archive dir",
	} {
		_, diags := config.LoadFiles(map[string][]byte{"g.hcl": []byte("gateway {\n  archive {\n    " + src + "\n  }\n}\n")}, ".")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), want) {
			t.Errorf("%s: diags = %v, want %q", src, diags, want)
		}
	}
}
