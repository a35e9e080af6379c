// Package interop holds the oidcmw interop suite: headless Chromium, driven
// by chromedp, logs in through the middleware against panva's oidc-provider,
// a certified OpenID Provider that runs under Node.js from op/.
//
// The package has no code of its own; everything is in its tests. It is a
// module of its own so that the library's go.mod stays free of the browser
// driver. See README.md for how to run it.
package interop
