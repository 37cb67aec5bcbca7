package sdk_test

import (
	"reflect"
	"testing"

	"github.com/triggergate/triggergate/sdk"
)

func TestParseCustomerKeyInvertsKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		c    sdk.Customer
		want sdk.Customer
	}{
		{"id", sdk.Customer{ID: "42", Email: "jane@example.com"}, sdk.Customer{ID: "42"}},
		{"id with colon", sdk.Customer{ID: "gid://shopify/Customer/7"}, sdk.Customer{ID: "gid://shopify/Customer/7"}},
		{"email", sdk.Customer{Email: "jane@example.com", Phone: "+1"}, sdk.Customer{Email: "jane@example.com"}},
		{"phone", sdk.Customer{Phone: "+12025550101"}, sdk.Customer{Phone: "+12025550101"}},
		{"external", sdk.Customer{ExternalIDs: map[string]string{"shopify": "7", "stripe": "cus_1"}}, sdk.Customer{ExternalIDs: map[string]string{"shopify": "7"}}},
		{"external id with colon", sdk.Customer{ExternalIDs: map[string]string{"hubspot": "a:b"}}, sdk.Customer{ExternalIDs: map[string]string{"hubspot": "a:b"}}},
		{"anonymous", sdk.Customer{AnonymousID: "anon-9"}, sdk.Customer{AnonymousID: "anon-9"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			key := tc.c.Key()
			got, err := sdk.ParseCustomerKey(key)
			if err != nil {
				t.Fatalf("sdk.ParseCustomerKey(%q): %v", key, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("sdk.ParseCustomerKey(%q) = %+v, want %+v", key, got, tc.want)
			}
			if got.Key() != key {
				t.Fatalf("sdk.ParseCustomerKey(%q).Key() = %q", key, got.Key())
			}
		})
	}
}

func TestParseCustomerKeyRejects(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "42", "who:x", "id:", "email:", "ext:", "ext:shopify", "ext::7", "ext:shopify:", "user:1", ":x", "ID:42"} {
		if c, err := sdk.ParseCustomerKey(key); err == nil {
			t.Errorf("sdk.ParseCustomerKey(%q) = %+v, want an error", key, c)
		}
	}
}
