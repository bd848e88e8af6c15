package payment

import "encoding/hex"

// SignBody signs any body as the simulator signs notifications, so tests can
// send signed bodies the simulator itself would never produce.
func (g *SimGateway) SignBody(body []byte) string {
	return hex.EncodeToString(g.mac(purposeNotify, body))
}
