package message_test

import (
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/chorus-voice/chorus/shared/message"
)

// FuzzDecode feeds arbitrary bytes to the worker's message decoder: it
// never panics, every refusal wraps ErrInvalid (so the worker treats it as
// poison, not as a retryable failure), and whatever it accepts is valid and
// survives an encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"job_id":"abc","member_id":"aria","text":"Hello.","speed":1.5}`), 1000)
	f.Add([]byte(`{"v":1,"member_id":"aria","text":"hi","request_id":"r-1","batch_id":"b_2"}`), 10)
	f.Add([]byte(`{"v":1,"member_id":"aria","text":"hi","request_id":"r-1","format":"opus"}`), 10)
	f.Add([]byte(`{"v":1,"job_id":"x","member_id":"aria","text":"hi","format":"ogg"}`), 10)
	f.Add([]byte(`{"v":2,"member_id":"aria","text":"hi","job_id":"x"}`), 1000)
	f.Add([]byte(`{"v":1,"job_id":"a/b","member_id":"aria","text":"hi"}`), 1000)
	f.Add([]byte(`{"v":1,"job_id":"x","member_id":"aria","text":"  "}`), 1000)
	f.Add([]byte(`{"v":1,"job_id":"x","member_id":"aria","text":"hi","speed":1e308}`), 1000)
	f.Add([]byte(`{"v":1,"job_id":"x","member_id":"aria","text":"hi"} {}`), 1000)
	f.Add([]byte(`{"v":1,"job_id":"x","member_id":"aria","text":"\ud800"}`), 1000)
	f.Add([]byte("{\"v\":1,\"job_id\":\"x\",\"member_id\":\"aria\",\"text\":\"caf\xe9\"}"), 1000)
	f.Add([]byte(`{"v":1,"job_id":"x","member_id":"aria","text":"가나다","extra":true}`), 2)
	f.Add([]byte(`[`), 1)
	f.Add([]byte{}, 0)
	f.Fuzz(func(t *testing.T, data []byte, maxText int) {
		maxText = int(uint(maxText)%2000) + 1
		m, err := message.Decode(data, maxText)
		if err != nil {
			if !errors.Is(err, message.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if err := m.Validate(maxText); err != nil {
			t.Fatalf("accepted an invalid message: %v", err)
		}
		if !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > maxText {
			t.Fatalf("accepted text %q (limit %d)", m.Text, maxText)
		}
		if s := m.EffectiveSpeed(); s < message.PublicMinSpeed || s > message.PublicMaxSpeed {
			t.Fatalf("effective speed %g", s)
		}
		enc, err := m.Encode(maxText)
		if err != nil {
			t.Fatalf("accepted message does not encode: %v", err)
		}
		back, err := message.Decode(enc, maxText)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip: %+v → %s → %+v (%v)", m, enc, back, err)
		}
	})
}
