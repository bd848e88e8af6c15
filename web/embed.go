// Package web embeds the built client (web/dist).
package web

import "embed"

// Dist holds the output of `npm run build` (index.html and assets/).
//
//go:embed all:dist
var Dist embed.FS
