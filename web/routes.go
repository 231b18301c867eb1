package web

import "github.com/labstack/echo/v4"

// routes adds the pages that need a signed-in viewer; each page file
// registers its own.
func (p *Pages) routes(g *echo.Group) {
	p.scheduleRoutes(g)
	p.rosterRoutes(g)
	p.planRoutes(g)
	p.queueRoutes(g)
	p.visitMobileRoutes(g)
	p.publicationRoutes(g)
	p.repairRoutes(g)
	p.demandRoutes(g)
	p.registryRoutes(g)
	p.approvalRoutes(g)
	p.tokenRoutes(g)
	p.xlsxRoutes(g)
	p.witnessRoutes(g)
}
