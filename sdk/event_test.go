package sdk

import "testing"

func TestCustomerKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    Customer
		want string
	}{
		{"id wins", Customer{ID: "c1", Email: "a@b.c", ExternalIDs: map[string]string{"shopify": "1"}, AnonymousID: "x"}, "id:c1"},
		{"then email", Customer{Email: "a@b.c", ExternalIDs: map[string]string{"shopify": "1"}, AnonymousID: "x"}, "email:a@b.c"},
		{"then an external id, lowest kind first", Customer{ExternalIDs: map[string]string{"stripe": "cus_1", "hubspot": "9"}, AnonymousID: "x"}, "ext:hubspot:9"},
		{"empty external ids are skipped", Customer{ExternalIDs: map[string]string{"a": "", "b": "2"}}, "ext:b:2"},
		{"then the anonymous id", Customer{ExternalIDs: map[string]string{"a": ""}, AnonymousID: "anon1"}, "anon:anon1"},
		{"then the phone", Customer{Phone: "+15550100", ExternalIDs: map[string]string{"shopify": "1"}}, "phone:+15550100"},
		{"nothing", Customer{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.c.Key(); got != tc.want {
				t.Errorf("Key() = %q, want %q", got, tc.want)
			}
		})
	}
}
