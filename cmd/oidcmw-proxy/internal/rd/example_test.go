package rd_test

import (
	"fmt"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/rd"
)

func ExamplePolicy_Check() {
	p := rd.Policy{Domains: []string{"example.com", ".example.com"}}
	if err := p.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	for _, target := range []string{
		"https://App.Example.com/inbox?page=2#top",
		"https://example.com.evil.com/",
		"https://example.com\\@evil.com",
		"http://example.com/",
	} {
		u, err := p.Check(target)
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		fmt.Println("redirect to", u)
	}
	// Output:
	// redirect to https://app.example.com/inbox?page=2
	// refused: rd: host "example.com.evil.com" is not in the allowed domains
	// refused: rd: byte 0x5c at offset 19 not allowed
	// refused: rd: scheme not allowed
}
