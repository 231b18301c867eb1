package api

// Bounds on request lists and texts. api/openapi.yaml states the same numbers
// (maxItems, maxLength), and TestOpenAPIBoundsMatchCode keeps the two equal.
// The list bounds lie far above real use (a county has some hundred items and
// regions) and far below PostgreSQL's 65,535 parameters per statement, so an
// oversized list is a 422 naming the field, never a failed statement.
const (
	maxDemandItems      = 500  // item_ids of a demand
	maxScenarioItems    = 500  // item_ids of a scenario
	maxRegionIDs        = 1000 // region_ids of a team, a plan or a sample rule
	maxIndustryCodes    = 500  // industry_codes of a scenario or a sample rule
	maxRiskCodes        = 3    // risk_codes of a sample rule: red, yellow, green
	maxDomains          = 50   // qualification domains of an inspector
	maxConflicts        = 1000 // businesses an inspector must not inspect
	maxNameLen          = 200  // names of departments, scenarios, regions, teams, tokens
	maxLongNameLen      = 300  // names of items and businesses
	maxPersonNameLen    = 100  // an inspector's name, a business's contact
	maxPhoneLen         = 40   // phone numbers
	maxAddressLen       = 500  // a business's address
	maxTitleLen         = 200  // a demand's title
	maxReasonLen        = 1000 // reasons: cancellation, move, revocation, risk code
	maxLegalBasisLen    = 2000 // an item's legal basis
	maxWebhookURLLen    = 2000 // a webhook's URL
	maxWebhookSecretLen = 500  // a webhook's signing secret
	maxScopeLen         = 64   // a token's scope: a department code, an id or a USCC
)
