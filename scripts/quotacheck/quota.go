package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The quota a Cloud Run job with one NVIDIA L4 per task and zonal
// redundancy turned off (terraform/worker.tf) draws on: "Total Nvidia L4
// GPU allocation without zonal redundancy, per project per region".
const (
	quotaService = "run.googleapis.com"
	quotaID      = "NvidiaL4GpuAllocNoZonalRedundancyPerProjectRegion"
)

// maxResponse bounds what is read of an answer: a QuotaInfo lists one
// entry per region that has a value of its own, a few kilobytes.
const maxResponse = 1 << 20

// QuotaInfo is the part of the Cloud Quotas API's QuotaInfo resource
// (cloudquotas.googleapis.com/v1, projects.locations.services.quotaInfos)
// that the check reads; field names are the API's.
type QuotaInfo struct {
	Name             string           `json:"name"`
	QuotaID          string           `json:"quotaId"`
	Metric           string           `json:"metric"`
	QuotaDisplayName string           `json:"quotaDisplayName"`
	DimensionsInfos  []DimensionsInfo `json:"dimensionsInfos"`
}

// DimensionsInfo is the quota's value for one combination of dimensions.
// An entry without a "region" dimension applies to every region that has
// no entry of its own (its applicableLocations list them).
type DimensionsInfo struct {
	Dimensions          map[string]string `json:"dimensions"`
	Details             QuotaDetails      `json:"details"`
	ApplicableLocations []string          `json:"applicableLocations"`
}

// QuotaDetails holds the value in force. The API writes the int64 as a
// JSON string ("3") and leaves it out when it is 0, as proto3 JSON does.
type QuotaDetails struct {
	Value Int64 `json:"value"`
}

// Int64 reads an int64 written as a JSON string or a number.
type Int64 int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("quota value %s is not an integer", b)
	}
	*n = Int64(v)
	return nil
}

// RegionLimit returns the number of L4s the quota allows in region: the
// value of the entry for that region, or of the entry for every other
// region when it has none of its own. A negative value means no limit.
func (q *QuotaInfo) RegionLimit(region string) (int64, error) {
	var fallback *DimensionsInfo
	for i := range q.DimensionsInfos {
		d := &q.DimensionsInfos[i]
		r, ok := d.Dimensions["region"]
		if ok && r == region {
			return int64(d.Details.Value), nil
		}
		if !ok && (len(d.ApplicableLocations) == 0 || slices.Contains(d.ApplicableLocations, region)) {
			fallback = d
		}
	}
	if fallback != nil {
		return int64(fallback.Details.Value), nil
	}
	return 0, fmt.Errorf("quota %s has no value for region %s (is it a region with Cloud Run GPUs?)", q.QuotaID, region)
}

// apiError is Google's error body: {"error": {"code", "message", "status"}}.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
	} `json:"error"`
}

var (
	projectPattern = regexp.MustCompile(`^([a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{6,20})$`)
	regionPattern  = regexp.MustCompile(`^[a-z]+-[a-z]+[0-9]+$`)
)

// FetchQuotaInfo reads the L4 quota of project (an id or a number) from
// the Cloud Quotas API at endpoint (https://cloudquotas.googleapis.com)
// with client, which carries the credentials.
func FetchQuotaInfo(ctx context.Context, client *http.Client, endpoint, project string) (*QuotaInfo, error) {
	if !projectPattern.MatchString(project) {
		return nil, fmt.Errorf("project %q is neither a project id nor a project number", project)
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
	}
	u = u.JoinPath("v1", "projects", project, "locations", "global", "services", quotaService, "quotaInfos", quotaID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("quota request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading quota %s: %w", quotaID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading quota %s: %w", quotaID, err)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("reading quota %s: answer larger than %d bytes", quotaID, maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return nil, fmt.Errorf("reading quota %s: %s %s: %s", quotaID, resp.Status, e.Error.Status, e.Error.Message)
		}
		return nil, fmt.Errorf("reading quota %s: %s", quotaID, resp.Status)
	}
	var q QuotaInfo
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, fmt.Errorf("reading quota %s: %w", quotaID, err)
	}
	if q.QuotaID != quotaID {
		return nil, fmt.Errorf("reading quota %s: the answer is about %q", quotaID, q.QuotaID)
	}
	return &q, nil
}

// ErrQuota is returned (wrapped) when the quota is below what is needed.
var ErrQuota = errors.New("not enough NVIDIA L4 quota")

// Check returns nil when the quota allows need L4s in region, and
// otherwise an error wrapping ErrQuota that says how to ask for more.
func Check(q *QuotaInfo, project, region string, need int64) (limit int64, err error) {
	if !regionPattern.MatchString(region) {
		return 0, fmt.Errorf("region %q is not a region name like us-central1", region)
	}
	if need < 1 {
		return 0, fmt.Errorf("need must be at least 1, got %d", need)
	}
	limit, err = q.RegionLimit(region)
	if err != nil {
		return 0, err
	}
	if limit >= 0 && limit < need {
		return limit, fmt.Errorf("%w: %q allows %d in %s, the worker job needs %d. New projects start at 0 and an increase can take a day: "+
			"request it (IAM & Admin → Quotas, filter %s) or run "+
			"`gcloud beta quotas preferences create --service=%s --quota-id=%s --preferred-value=%d --dimensions=region=%s --project=%s --email=YOU@EXAMPLE.COM`, "+
			"or deploy with worker_accelerator = \"none\" (CPU only) meanwhile",
			ErrQuota, q.QuotaDisplayName, limit, region, need, quotaID, quotaService, quotaID, need, region, project)
	}
	return limit, nil
}
