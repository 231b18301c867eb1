package api

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"inspectonce/configs"
	"inspectonce/store"
)

// TestOpenAPIBoundsMatchCode keeps the bounds of api/openapi.yaml and of the
// code one: every list in a request body has maxItems and every free string
// maxLength (or a pattern, enum or format that bounds it), and each such
// bound is the constant the handlers enforce.
func TestOpenAPIBoundsMatchCode(t *testing.T) {
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"ScenarioRequest.industry_codes":      maxIndustryCodes,
		"ScenarioRequest.item_ids":            maxScenarioItems,
		"TeamRequest.region_ids":              maxRegionIDs,
		"InspectorRequest.domains":            maxDomains,
		"InspectorRequest.conflicts":          maxConflicts,
		"DemandRequest.item_ids":              maxDemandItems,
		"DemandRequest.businesses":            cfg.Demands.MaxListTargets,
		"SampleRequest.region_ids":            maxRegionIDs,
		"SampleRequest.industry_codes":        maxIndustryCodes,
		"SampleRequest.risk_codes":            maxRiskCodes,
		"PlanRequest.region_ids":              maxRegionIDs,
		"DepartmentRequest.name":              maxNameLen,
		"ScenarioRequest.name":                maxNameLen,
		"RegionRequest.name":                  maxNameLen,
		"TeamRequest.name":                    maxNameLen,
		"TokenRequest.name":                   maxNameLen,
		"TokenRequest.scope":                  maxScopeLen,
		"ItemRequest.name":                    maxLongNameLen,
		"ItemRequest.legal_basis":             maxLegalBasisLen,
		"BusinessCreateRequest.name":          maxLongNameLen,
		"BusinessUpdateRequest.name":          maxLongNameLen,
		"InspectorRequest.name":               maxPersonNameLen,
		"BusinessCreateRequest.contact_name":  maxPersonNameLen,
		"BusinessUpdateRequest.contact_name":  maxPersonNameLen,
		"TeamRequest.contact_phone":           maxPhoneLen,
		"InspectorRequest.phone":              maxPhoneLen,
		"BusinessCreateRequest.contact_phone": maxPhoneLen,
		"BusinessUpdateRequest.contact_phone": maxPhoneLen,
		"BusinessCreateRequest.address":       maxAddressLen,
		"BusinessUpdateRequest.address":       maxAddressLen,
		"BusinessCreateRequest.risk_reason":   maxReasonLen,
		"BusinessUpdateRequest.risk_reason":   maxReasonLen,
		"DemandRequest.title":                 maxTitleLen,
		"CancelRequest.reason":                maxReasonLen,
		"MoveRequest.reason":                  maxReasonLen,
		"RevokeVisitCodeRequest.reason":       maxReasonLen,
		"WebhookRequest.url":                  maxWebhookURLLen,
		"WebhookRequest.secret":               maxWebhookSecretLen,
		"ResultRequest.rule_cited":            store.MaxRuleCited,
		"ResultRequest.note":                  store.MaxResultNote,
		"UnavailabilityRequest.reason":        maxAvailabilityReasonLen,
		"ClosureRequest.reason":               maxAvailabilityReasonLen,
	}
	// The approval of a draft (issue 18).
	want["POST /api/v1/plans/{id}/approvals.step"] = maxNameLen
	want["POST /api/v1/plans/{id}/approvals.opinion"] = store.MaxOpinionLen
	want["POST /api/v1/plans/{id}/randomness.value"] = maxRandomnessLen
	want["POST /api/v1/plans/{id}/randomness.source"] = maxRandomnessLen
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	var unbounded []string
	seen := map[string]bool{}
	var walk func(name string, s *openapi3.SchemaRef)
	walk = func(name string, s *openapi3.SchemaRef) {
		if s == nil || s.Value == nil {
			return
		}
		if ref := s.Ref; ref != "" {
			name = ref[strings.LastIndex(ref, "/")+1:]
			if seen[name] {
				return
			}
			seen[name] = true
		}
		for _, sub := range append(append(s.Value.AllOf, s.Value.OneOf...), s.Value.AnyOf...) {
			walk(name, sub)
		}
		for prop, ps := range s.Value.Properties {
			field := name + "." + prop
			v := ps.Value
			switch {
			case v.Type.Is("array"):
				if v.MaxItems == nil {
					unbounded = append(unbounded, field+" (maxItems)")
				} else {
					got[field] = int(*v.MaxItems)
				}
				walk(field+"[]", v.Items)
			case v.Type.Is("string"):
				switch {
				case v.MaxLength != nil:
					got[field] = int(*v.MaxLength)
				case v.Pattern == "" && len(v.Enum) == 0 && v.Format == "":
					unbounded = append(unbounded, field+" (maxLength)")
				}
			case v.Type.Is("object"):
				walk(field, ps)
			}
			if ps.Ref != "" {
				walk(name, ps)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
				walk(fmt.Sprintf("%s %s", method, path), mt.Schema)
			}
		}
	}
	sort.Strings(unbounded)
	for _, u := range unbounded {
		t.Errorf("api/openapi.yaml: %s is unbounded in a request body", u)
	}
	for field, n := range got {
		w, ok := want[field]
		switch {
		case !ok:
			t.Errorf("api/openapi.yaml bounds %s at %d, but no constant of the code is compared with it: add it to this test", field, n)
		case w != n:
			t.Errorf("api/openapi.yaml bounds %s at %d, the code at %d", field, n, w)
		}
	}
	for field := range want {
		if _, ok := got[field]; !ok {
			t.Errorf("api/openapi.yaml states no bound for %s", field)
		}
	}
}
