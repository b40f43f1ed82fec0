package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/functions/internal/apierr"
	"github.com/chorus-voice/chorus/shared/job"
	"github.com/chorus-voice/chorus/shared/message"
)

// MaxBodyBytes is the largest request body of a request of items items of
// at most textChars characters each: room for every character written as a
// six-byte JSON escape (\uXXXX, what clients that escape all non-ASCII
// send; a character of UTF-8 takes at most four), 2 KiB more per item for
// its other fields and layout, and 8 KiB for the request's own. So any
// request within the item and text limits fits, Korean included, and the
// body limit follows those two limits instead of being a third.
func MaxBodyBytes(items, textChars int) int64 {
	return 8<<10 + int64(items)*(2<<10+6*int64(textChars))
}

// SynthesisItem is one synthesis request as clients send it.
type SynthesisItem struct {
	MemberID  string   `json:"member_id"`
	Text      string   `json:"text"`
	Speed     *float64 `json:"speed,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
	// Format is the audio format: wav (the default), opus or mp3.
	Format string `json:"format,omitempty"`
	// CallbackURL is told when the job finished (synthesize only; a batch
	// has one for all its items).
	CallbackURL string `json:"callback_url,omitempty"`
	// Cache false keeps the request out of the result cache both ways: it
	// is not answered from an earlier identical request, and its audio
	// answers no later one (nobody learns that it was asked).
	Cache *bool `json:"cache,omitempty"`
}

// BatchRequest is the body of POST /api/batch.
type BatchRequest struct {
	Items       []SynthesisItem `json:"items"`
	CallbackURL string          `json:"callback_url,omitempty"`
}

// decodeJSON reads a JSON body of at most limit bytes into v, answering the
// failure modes of a client with precise errors: wrong content type, too
// large, invalid UTF-8, malformed JSON, unknown fields, field names in
// another case, repeated fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the request as JSON (Content-Type: application/json).")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return apierr.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the request as UTF-8 JSON.")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.New(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("The request is larger than %d KiB.", limit>>10))
		}
		return apierr.New(http.StatusBadRequest, "invalid_body", "The request body could not be read.")
	}
	if !utf8.Valid(body) {
		return apierr.Field("invalid_utf8", "text", "The text contains characters that are not valid UTF-8.")
	}
	if err := checkStrict(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return apierr.Field("invalid_field", ute.Field, fmt.Sprintf("%s has the wrong type.", ute.Field))
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return apierr.Field("unknown_field", f, fmt.Sprintf("Unknown field %q.", f))
		}
		return apierr.New(http.StatusBadRequest, "invalid_json", "The request body is not valid JSON.")
	}
	if dec.More() {
		return apierr.New(http.StatusBadRequest, "invalid_json", "The request body holds more than one JSON value.")
	}
	return nil
}

// validateItem checks one synthesis item; prefix names its place in a
// batch ("items[3].") for the error's field.
func validateItem(it *SynthesisItem, maxText int, prefix string) error {
	it.MemberID = strings.TrimSpace(it.MemberID)
	switch {
	case it.MemberID == "":
		return apierr.Field("member_required", prefix+"member_id", "Choose a member.")
	case !message.ValidRecordID(it.MemberID):
		return &apierr.Error{Status: http.StatusNotFound, Code: "member_not_found", Message: "That member does not exist.", Field: prefix + "member_id"}
	}
	if at, r, ok := controlCharacter(it.Text); ok {
		return apierr.Field("invalid_control_character", prefix+"text",
			fmt.Sprintf("The text contains the control character U+%04X at character %d; only tabs and line breaks are allowed.", r, at+1))
	}
	text := strings.TrimSpace(it.Text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return apierr.Field("text_required", prefix+"text", "Type something to say.")
	case n > maxText:
		return apierr.Field("text_too_long", prefix+"text", fmt.Sprintf("The text has %d characters; the limit is %d.", n, maxText))
	case strings.ContainsRune(text, utf8.RuneError):
		return apierr.Field("invalid_utf8", prefix+"text", "The text contains characters that are not valid UTF-8.")
	}
	it.Text = text
	if it.Speed != nil && !(*it.Speed >= message.PublicMinSpeed && *it.Speed <= message.PublicMaxSpeed) {
		return apierr.Field("speed_out_of_range", prefix+"speed", fmt.Sprintf("Speed must be between %.1f and %.1f.", message.PublicMinSpeed, message.PublicMaxSpeed))
	}
	if it.RequestID != "" && !message.ValidRequestID(it.RequestID) {
		return apierr.Field("invalid_request_id", prefix+"request_id", "request_id must be 1–128 visible ASCII characters.")
	}
	if it.Format != "" && !job.ValidFormat(it.Format) {
		return apierr.Field("invalid_format", prefix+"format", "format must be one of "+strings.Join(job.Formats, ", ")+".")
	}
	return nil
}

// controlCharacter finds the first C0 control character other than tab,
// line feed and carriage return: at is its index in characters. Such
// characters are invisible, and some change what the engine speaks (a
// sentence does not end at "!\u0001"), so they are refused, not cleaned.
func controlCharacter(text string) (at int, r rune, ok bool) {
	i := 0
	for _, c := range text {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return i, c, true
		}
		i++
	}
	return 0, 0, false
}

// format is the item's audio format (WAV when it names none).
func (it *SynthesisItem) format() string {
	if it.Format == "" {
		return job.FormatWAV
	}
	return it.Format
}

// cacheAllowed reports whether the item may use the result cache (it did
// not say "cache": false).
func (it *SynthesisItem) cacheAllowed() bool { return it.Cache == nil || *it.Cache }

func (it *SynthesisItem) speed() float64 {
	if it.Speed == nil {
		return 1
	}
	return *it.Speed
}
