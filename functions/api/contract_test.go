package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specPath is the API contract every response of these tests is checked
// against.
const specPath = "../../docs/openapi.yaml"

// contractClient is the HTTP client of the API tests. It answers a response
// that breaks docs/openapi.yaml with an error instead, so the test fails
// where the request was made.
var contractClient = &http.Client{Transport: contractTransport{}}

type contractTransport struct{}

func (contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, err := loadContract()
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err := c.check(req, res.StatusCode, res.Header, body); err != nil {
		return nil, fmt.Errorf("response breaks %s: %s %s → %d %s: %w", specPath, req.Method, req.URL.RequestURI(), res.StatusCode, bytes.TrimSpace(body), err)
	}
	return res, nil
}

type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	ctx := context.Background()
	openapi3.DefineStringFormatCallback("uri", func(s string) error {
		if u, err := url.Parse(s); err != nil || !u.IsAbs() {
			return errors.New("not an absolute URI")
		}
		return nil
	})
	openapi3.DefineStringFormatCallback("uri-reference", func(s string) error {
		_, err := url.Parse(s)
		return err
	})
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", specPath, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", specPath, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &contract{doc: doc, router: router}, nil
})

// check validates one response against the operation it answers: its status
// must be documented, and its headers and JSON body must match. A method
// the path does not list must answer components/responses/MethodNotAllowed,
// and a path under /api/ the contract does not list components/responses/NotFound.
func (c *contract) check(req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := c.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed):
		route, err = c.fallback(req, status, http.StatusMethodNotAllowed, "MethodNotAllowed")
	case errors.Is(err, routers.ErrPathNotFound) && strings.HasPrefix(req.URL.Path, "/api/"):
		route, err = c.fallback(req, status, http.StatusNotFound, "NotFound")
	}
	if err != nil {
		return err
	}
	if allow := header.Get("Allow"); allow != "" {
		if err := c.checkAllow(req, allow); err != nil {
			return err
		}
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, route.Method, route.Path)
	}
	if len(ref.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("status %d of %s %s has no body in the contract", status, route.Method, route.Path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(req.Context(), in)
}

// fallback is a route for an answer the contract gives outside any
// operation: a method a path does not take, or a path it does not list.
func (c *contract) fallback(req *http.Request, status, want int, response string) (*routers.Route, error) {
	if status != want {
		return nil, fmt.Errorf("%s %s is not in the contract: want %d, got %d", req.Method, req.URL.Path, want, status)
	}
	ref := c.doc.Components.Responses[response]
	if ref == nil {
		return nil, fmt.Errorf("components/responses/%s is missing", response)
	}
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(want, ref))}
	return &routers.Route{Spec: c.doc, Path: req.URL.Path, Method: req.Method, Operation: op}, nil
}

// checkAllow compares an Allow header with the methods the contract lists
// for the request's path.
func (c *contract) checkAllow(req *http.Request, allow string) error {
	probe := req.Clone(req.Context())
	probe.Method = http.MethodOptions
	route, _, err := c.router.FindRoute(probe)
	if err != nil {
		return fmt.Errorf("Allow %q on a path the contract does not list", allow)
	}
	var want []string
	for m := range route.PathItem.Operations() {
		want = append(want, m)
	}
	got := strings.Split(allow, ", ")
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("Allow %q, the contract lists %s", allow, strings.Join(want, ", "))
	}
	return nil
}

// TestContractRejects checks that the contract check itself catches
// answers that break the contract, so a green run means something.
func TestContractRejects(t *testing.T) {
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	cases := []struct {
		name, method, path string
		status             int
		header             http.Header
		body, want         string
	}{
		{"undocumented status", "GET", "/api/profiles", 418, jsonHeader, `{"error":{"code":"internal","message":"x"}}`, `not documented`},
		{"unknown error code", "GET", "/api/status?id=x", 404, jsonHeader, `{"error":{"code":"gone","message":"x"}}`, `"/error/code"`},
		{"error code of another status", "GET", "/api/status?id=x", 404, jsonHeader, `{"error":{"code":"audio_expired","message":"x"}}`, `"/error/code"`},
		{"error without message", "POST", "/api/synthesize", 400, jsonHeader, `{"error":{"code":"text_required"}}`, `"message" is missing`},
		{"undocumented field", "GET", "/api/profiles/aria", 200, jsonHeader, `{"id":"aria","name":"A","group":"G","bio":"","image_url":"","voice_id":"v","sample_text":"","order":1,"active":true}`, `"active" is unsupported`},
		{"succeeded without audio", "GET", "/api/status?id=x", 200, jsonHeader, `{"job_id":"x","status":"succeeded","member_id":"a","text":"t","speed":1,"attempts":1,"created_at":"2026-01-01T00:00:00Z","finished_at":"2026-01-01T00:00:01Z"}`, `"audio_url" is missing`},
		{"batch job without status", "POST", "/api/batch", 202, jsonHeader, `{"batch_id":"b","jobs":[{"job_id":"j","status_url":"/api/status?id=j"}]}`, `"/jobs/0/status"`},
		{"429 without Retry-After", "POST", "/api/synthesize", 429, jsonHeader, `{"error":{"code":"rate_limited","message":"x"}}`, `"Retry-After" missing`},
		{"405 without Allow", "DELETE", "/api/profiles", 405, jsonHeader, `{"error":{"code":"method_not_allowed","message":"x"}}`, `"Allow" missing`},
		{"405 with a wrong Allow", "DELETE", "/api/profiles", 405, http.Header{"Content-Type": {"application/json"}, "Allow": {"GET, OPTIONS"}}, `{"error":{"code":"method_not_allowed","message":"x"}}`, `the contract lists GET, HEAD, OPTIONS`},
		{"unknown path answered 200", "GET", "/api/nothing", 200, jsonHeader, `{}`, `want 404`},
		{"not JSON", "GET", "/api/profiles", 200, http.Header{"Content-Type": {"text/plain"}}, `{"members":[]}`, `Content-Type`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, "http://127.0.0.1"+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.check(req, tc.status, tc.header, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error about %s", err, tc.want)
			}
		})
	}
}
