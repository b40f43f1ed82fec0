package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/chorus-voice/chorus/shared/store"
	"github.com/chorus-voice/chorus/synth-job/voiceimport"
)

// memberFields are the flags of `members add`.
type memberFields struct {
	name, group, bio, image, sample, voice *string
	speaker, order                         *int
	inactive, noCache                      *bool
}

func memberFlags(fs *flag.FlagSet) memberFields {
	return memberFields{
		name:     fs.String("name", "", "members add: the name fans see"),
		group:    fs.String("group", "", "members add: the group"),
		bio:      fs.String("bio", "", "members add: a line about them"),
		image:    fs.String("image", "", "members add: image URL (https) or path"),
		sample:   fs.String("sample", "", "members add: a sample sentence fans can try"),
		voice:    fs.String("voice", "", "members add: the registered voice that speaks for them"),
		speaker:  fs.Int("speaker", 0, "members add: the speaker of a multi-speaker voice (0 …)"),
		order:    fs.Int("order", 0, "members add: display order (default: after everyone, or where they were)"),
		inactive: fs.Bool("inactive", false, "members add: hide them from fans"),
		noCache:  fs.Bool("no-cache", false, "members add: synthesise every request anew (no result cache)"),
	}
}

// addMember adds a member or replaces their profile (their lexicon stays).
func addMember(ctx context.Context, im *voiceimport.Importer, id string, f memberFields) error {
	switch {
	case id == "":
		return errors.New("-id is required")
	case *f.name == "" || *f.group == "" || *f.voice == "":
		return errors.New("-name, -group and -voice are required")
	}
	m := &store.Member{ID: id, Name: *f.name, Group: *f.group, Bio: *f.bio, ImageURL: *f.image, SampleText: *f.sample,
		VoiceID: *f.voice, SpeakerID: *f.speaker, Order: *f.order, Active: !*f.inactive, CacheDisabled: *f.noCache}
	if err := im.PutMember(ctx, m); err != nil {
		return err
	}
	state := "shown to fans"
	if !m.Active {
		state = "hidden from fans"
	}
	fmt.Printf("member %s (%s, %s): voice %s speaker %d, order %d, %s\n", m.ID, m.Name, m.Group, m.VoiceID, m.SpeakerID, m.Order, state)
	return nil
}

// listMembers prints every member, active or not, in display order.
func listMembers(ctx context.Context, st *store.Store, w io.Writer) error {
	all, err := st.AllMembers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tGROUP\tVOICE\tSPEAKER\tORDER\tACTIVE\tLEXICON")
	for _, m := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%t\t%d\n", m.ID, m.Name, m.Group, m.VoiceID, m.SpeakerID, m.Order, m.Active, len(m.Lexicon))
	}
	return tw.Flush()
}
