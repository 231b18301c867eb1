package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"inspectonce/domain"
	"inspectonce/messages"
)

// UnavailabilityImport is one import row of an inspector's days away; the
// importer has resolved the inspector and checked the span.
type UnavailabilityImport struct {
	Line          int
	InspectorID   int64
	InspectorCode string
	From, To      time.Time
	Reason        string
}

// ClosureImport is one import row of a closure: exactly one of RegionID and
// TeamID is set, Code is that region's or team's code.
type ClosureImport struct {
	Line             int
	RegionID, TeamID int64
	Code             string
	From, To         time.Time
	Reason           string
}

// InspectorRef is what an importer needs of an inspector named by its code.
type InspectorRef struct {
	ID     int64
	TeamID int64
}

// InspectorRefsByCode maps inspector codes to their id and team, those of
// team teamID only when it is not zero (a team leader's import).
func (s *Store) InspectorRefsByCode(ctx context.Context, teamID int64) (map[string]InspectorRef, error) {
	var rows []struct {
		ID     int64
		Code   string
		TeamID int64
	}
	q := s.db.WithContext(ctx).Table("inspectors").Select("id, code, team_id")
	if teamID != 0 {
		q = q.Where("team_id = ?", teamID)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, translate(err, "inspectors")
	}
	out := make(map[string]InspectorRef, len(rows))
	for _, r := range rows {
		out[r.Code] = InspectorRef{ID: r.ID, TeamID: r.TeamID}
	}
	return out, nil
}

func spanKey(code string, from, to time.Time) string {
	return code + " " + civilDate(from) + ".." + civilDate(to)
}

func spanChanges(from, to time.Time, reason string) []FieldChange {
	return []FieldChange{{Field: "from", New: civilDate(from)}, {Field: "to", New: civilDate(to)}, {Field: "reason", New: reason}}
}

// loadRows runs one transaction per row, so that a row is wholly written or
// not at all, and sorts what each did: one outcome per applied (or, in a dry
// run, applicable) row, one error per row refused on grounds only the
// database could judge. Any other failure stops the batch.
func loadRows[T any](ctx context.Context, s *Store, dry bool, rows []T, line func(T) int,
	one func(tx *gorm.DB, r T) (RowOutcome, error)) (PatchResult, error) {
	var res PatchResult
	for _, r := range rows {
		var out RowOutcome
		err := s.tx(ctx, func(tx *gorm.DB) error {
			var err error
			if out, err = one(tx, r); err != nil {
				return err
			}
			if dry {
				return errDryRun // nothing a dry run read may stay written, locks included
			}
			return nil
		})
		var ve *domain.ValidationError
		switch {
		case err == nil || errors.Is(err, errDryRun):
			out.Line = line(r)
			res.Rows = append(res.Rows, out)
		case errors.As(err, &ve):
			for _, f := range ve.Fields {
				res.Errors = append(res.Errors, ImportRowError{Line: line(r), Field: f.Field, Reason: f.Reason})
			}
		case errors.Is(err, domain.ErrNotFound), errors.Is(err, domain.ErrConflict):
			res.Errors = append(res.Errors, ImportRowError{Line: line(r), Reason: err.Error()})
		default:
			return res, fmt.Errorf("line %d: %w", line(r), err)
		}
	}
	return res, nil
}

var errDryRun = errors.New("dry run: rolled back")

// LoadUnavailability adds the days away of rows on behalf of actor, each row
// in its own transaction and audited as CreateUnavailability audits it. A row
// identical to a stored unavailability (same inspector, days and reason) is
// unchanged and adds nothing, so loading the same file twice adds nothing the
// second time. With dry, nothing is written and the outcome says what would be.
func (s *Store) LoadUnavailability(ctx context.Context, actor string, rows []UnavailabilityImport, dry bool) (PatchResult, error) {
	return loadRows(ctx, s, dry, rows, func(r UnavailabilityImport) int { return r.Line },
		func(tx *gorm.DB, r UnavailabilityImport) (RowOutcome, error) {
			out := RowOutcome{Key: spanKey(r.InspectorCode, r.From, r.To)}
			// The lock is the one CreateUnavailability takes: two imports, or an
			// import and the API, cannot both find no twin and both insert.
			if err := lockExisting(tx, "inspectors", "id", r.InspectorID, "inspector "+r.InspectorCode); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return out, domain.Invalid("inspector", "%s", messages.ImportText("imp.reject.inspector_gone", r.InspectorCode))
				}
				return out, err
			}
			var twin int64
			if err := tx.Raw(`SELECT id FROM inspector_unavailability WHERE inspector_id = ? AND from_date = ?::date
				AND to_date = ?::date AND reason = ? LIMIT 1`, r.InspectorID, civilDate(r.From), civilDate(r.To), r.Reason).
				Scan(&twin).Error; err != nil {
				return out, translate(err, "unavailability")
			}
			if twin != 0 {
				out.Status, out.Changes = RowUnchanged, []FieldChange{}
				return out, nil
			}
			out.Status, out.Changes = RowNew, spanChanges(r.From, r.To, r.Reason)
			if dry {
				return out, nil
			}
			_, err := insertUnavailability(tx, actor, r.InspectorID, r.From, r.To, r.Reason)
			return out, err
		})
}

// LoadClosures adds the closures of rows on behalf of actor as
// LoadUnavailability adds days away: one transaction per row, audited as
// CreateClosure audits, an identical stored closure (same region or team,
// days and reason) unchanged.
func (s *Store) LoadClosures(ctx context.Context, actor string, rows []ClosureImport, dry bool) (PatchResult, error) {
	return loadRows(ctx, s, dry, rows, func(r ClosureImport) int { return r.Line },
		func(tx *gorm.DB, r ClosureImport) (RowOutcome, error) {
			out := RowOutcome{Key: spanKey(r.Code, r.From, r.To)}
			var region, team *int64
			col, table := "region_id", "regions"
			switch {
			case r.RegionID != 0 && r.TeamID == 0:
				region = &r.RegionID
			case r.TeamID != 0 && r.RegionID == 0:
				team, col, table = &r.TeamID, "team_id", "teams"
			default:
				return out, domain.Invalid("region", "%s", messages.ImportText("imp.reject.region_or_team"))
			}
			id := r.RegionID + r.TeamID
			if err := lockExisting(tx, table, "id", id, table[:len(table)-1]+" "+r.Code); err != nil {
				if errors.Is(err, domain.ErrNotFound) {
					return out, domain.Invalid(table[:len(table)-1], "%s", messages.ImportText("imp.reject.code_gone", table[:len(table)-1], r.Code))
				}
				return out, err
			}
			var twin int64
			if err := tx.Raw(`SELECT id FROM closures WHERE `+col+` = ? AND from_date = ?::date AND to_date = ?::date
				AND reason = ? LIMIT 1`, id, civilDate(r.From), civilDate(r.To), r.Reason).Scan(&twin).Error; err != nil {
				return out, translate(err, "closure")
			}
			if twin != 0 {
				out.Status, out.Changes = RowUnchanged, []FieldChange{}
				return out, nil
			}
			out.Status, out.Changes = RowNew, spanChanges(r.From, r.To, r.Reason)
			if dry {
				return out, nil
			}
			_, err := insertClosure(tx, actor, region, team, r.From, r.To, r.Reason)
			return out, err
		})
}

// importKey is a row's identity within one file, for refusing a repeated row.
func importKey(id int64, from, to time.Time, reason string) string {
	return strconv.FormatInt(id, 10) + "|" + civilDate(from) + "|" + civilDate(to) + "|" + reason
}

// UnavailabilityImportKey identifies an unavailability row within one file.
func UnavailabilityImportKey(r UnavailabilityImport) string {
	return importKey(r.InspectorID, r.From, r.To, r.Reason)
}

// ClosureImportKey identifies a closure row within one file.
func ClosureImportKey(r ClosureImport) string {
	kind := "r"
	if r.TeamID != 0 {
		kind = "t"
	}
	return kind + importKey(r.RegionID+r.TeamID, r.From, r.To, r.Reason)
}
