package sdk

// Conversions between the SDK's types and the wire messages. Everything a
// plugin or the host receives is untrusted: decoding failures are errors,
// never panics.

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/triggergate/triggergate/sdk/internal/pluginpb"
)

func schemaToPB(s Schema) *pb.Schema {
	out := &pb.Schema{}
	for _, a := range s.Attributes {
		out.Attributes = append(out.Attributes, &pb.Attribute{
			Name: a.Name, Type: string(a.Type), Required: a.Required, Description: a.Description,
		})
	}
	for _, b := range s.Blocks {
		out.Blocks = append(out.Blocks, &pb.BlockType{
			Name: b.Name, Schema: schemaToPB(b.Schema), Repeated: b.Repeated,
			Required: b.Required, Description: b.Description,
		})
	}
	return out
}

// maxSchemaDepth bounds nesting in a schema a plugin reports, so a hostile
// plugin cannot make the host recurse without end.
const maxSchemaDepth = 8

func schemaFromPB(s *pb.Schema, depth int) (Schema, error) {
	var out Schema
	if s == nil {
		return out, nil
	}
	if depth > maxSchemaDepth {
		return out, fmt.Errorf("config schema nests deeper than %d blocks", maxSchemaDepth)
	}
	for _, a := range s.GetAttributes() {
		out.Attributes = append(out.Attributes, AttributeSchema{
			Name: a.GetName(), Type: AttrType(a.GetType()), Required: a.GetRequired(), Description: a.GetDescription(),
		})
	}
	for _, b := range s.GetBlocks() {
		inner, err := schemaFromPB(b.GetSchema(), depth+1)
		if err != nil {
			return out, err
		}
		out.Blocks = append(out.Blocks, BlockSchema{
			Name: b.GetName(), Schema: inner, Repeated: b.GetRepeated(),
			Required: b.GetRequired(), Description: b.GetDescription(),
		})
	}
	return out, nil
}

func describeToPB(d *DescribeResponse) *pb.DescribeResponse {
	return &pb.DescribeResponse{
		Name: d.Name, Kind: d.Kind, Version: d.Version,
		ProtocolVersion: uint32(d.ProtocolVersion), Description: d.Description,
		ConfigSchema: schemaToPB(d.Schema),
	}
}

func describeFromPB(d *pb.DescribeResponse) (*DescribeResponse, error) {
	s, err := schemaFromPB(d.GetConfigSchema(), 0)
	if err != nil {
		return nil, err
	}
	return &DescribeResponse{
		Name: d.GetName(), Kind: d.GetKind(), Version: d.GetVersion(),
		ProtocolVersion: int(d.GetProtocolVersion()), Description: d.GetDescription(), Schema: s,
	}, nil
}

func diagsToPB(ds Diagnostics) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, 0, len(ds))
	for _, d := range ds {
		sev := pb.Diagnostic_SEVERITY_ERROR
		if d.Severity == SeverityWarning {
			sev = pb.Diagnostic_SEVERITY_WARNING
		}
		x := &pb.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail}
		for _, s := range d.Path {
			if s.IsIndex() {
				x.Path = append(x.Path, &pb.PathStep{Step: &pb.PathStep_Index{Index: int64(s.Index)}})
			} else {
				x.Path = append(x.Path, &pb.PathStep{Step: &pb.PathStep_Name{Name: s.Name}})
			}
		}
		out = append(out, x)
	}
	return out
}

func diagsFromPB(ds []*pb.Diagnostic) Diagnostics {
	out := make(Diagnostics, 0, len(ds))
	for _, d := range ds {
		sev := SeverityError
		if d.GetSeverity() == pb.Diagnostic_SEVERITY_WARNING {
			sev = SeverityWarning
		}
		x := Diagnostic{Severity: sev, Summary: d.GetSummary(), Detail: d.GetDetail()}
		for _, s := range d.GetPath() {
			switch st := s.GetStep().(type) {
			case *pb.PathStep_Index:
				x.Path = x.Path.Index(int(st.Index))
			case *pb.PathStep_Name:
				x.Path = x.Path.Attr(st.Name)
			}
		}
		out = append(out, x)
	}
	return out
}

// marshalJSON encodes a value for the wire; nil maps stay empty.
func marshalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	return b, nil
}

// unmarshalJSON decodes an optional JSON payload: empty bytes leave v as is.
func unmarshalJSON(b []byte, v any, what string) error {
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding %s: %w", what, err)
	}
	return nil
}

func evaluateRequestToPB(r *EvaluateRequest) (*pb.EvaluateRequest, error) {
	out := &pb.EvaluateRequest{}
	for name, cfg := range r.Rules {
		out.Rules = append(out.Rules, &pb.Rule{Name: name, ConfigJson: cfg})
	}
	for i := range r.Items {
		it := &r.Items[i]
		ev, err := marshalJSON(&it.Event)
		if err != nil {
			return nil, err
		}
		prof, err := marshalJSON(&it.Profile)
		if err != nil {
			return nil, err
		}
		x := &pb.EvaluateItem{Rule: it.Rule, EventJson: ev, ProfileJson: prof, State: it.State, Now: timestamppb.New(it.Now)}
		if it.Timer != nil {
			if x.Timer, err = timerToPB(*it.Timer); err != nil {
				return nil, err
			}
		}
		out.Items = append(out.Items, x)
	}
	return out, nil
}

func evaluateRequestFromPB(r *pb.EvaluateRequest) (*EvaluateRequest, error) {
	out := &EvaluateRequest{Rules: make(map[string]RawConfig, len(r.GetRules())), Items: make([]EvaluateItem, len(r.GetItems()))}
	for _, rule := range r.GetRules() {
		out.Rules[rule.GetName()] = rule.GetConfigJson()
	}
	for i, it := range r.GetItems() {
		x := &out.Items[i]
		x.Rule, x.State, x.Now = it.GetRule(), it.GetState(), it.GetNow().AsTime()
		if err := unmarshalJSON(it.GetEventJson(), &x.Event, "event"); err != nil {
			return nil, err
		}
		if err := unmarshalJSON(it.GetProfileJson(), &x.Profile, "profile"); err != nil {
			return nil, err
		}
		if it.GetTimer() != nil {
			t, err := timerFromPB(it.GetTimer())
			if err != nil {
				return nil, err
			}
			x.Timer = &t
		}
	}
	return out, nil
}

func timerToPB(t Timer) (*pb.Timer, error) {
	var data []byte
	if t.Data != nil {
		var err error
		if data, err = marshalJSON(t.Data); err != nil {
			return nil, err
		}
	}
	return &pb.Timer{Id: t.ID, At: timestamppb.New(t.At), DataJson: data}, nil
}

func timerFromPB(t *pb.Timer) (Timer, error) {
	out := Timer{ID: t.GetId(), At: t.GetAt().AsTime()}
	if err := unmarshalJSON(t.GetDataJson(), &out.Data, "timer data"); err != nil {
		return Timer{}, err
	}
	return out, nil
}

func evaluateResponseToPB(r *EvaluateResponse) (*pb.EvaluateResponse, error) {
	out := &pb.EvaluateResponse{Results: make([]*pb.EvaluateResult, 0, len(r.Results))}
	for _, res := range r.Results {
		x := &pb.EvaluateResult{State: res.State, CancelTimers: res.CancelTimers, Error: res.Err}
		for _, t := range res.SetTimers {
			pt, err := timerToPB(t)
			if err != nil {
				return nil, err
			}
			x.SetTimers = append(x.SetTimers, pt)
		}
		for _, f := range res.Fires {
			var data []byte
			if f.Data != nil {
				var err error
				if data, err = marshalJSON(f.Data); err != nil {
					return nil, err
				}
			}
			x.Fires = append(x.Fires, &pb.Fire{Step: f.Step, DataJson: data, Key: f.Key})
		}
		out.Results = append(out.Results, x)
	}
	return out, nil
}

func evaluateResponseFromPB(r *pb.EvaluateResponse, items int) (*EvaluateResponse, error) {
	if n := len(r.GetResults()); n != items {
		return nil, fmt.Errorf("plugin answered %d results for %d items", n, items)
	}
	out := &EvaluateResponse{Results: make([]Result, len(r.GetResults()))}
	for i, res := range r.GetResults() {
		x := &out.Results[i]
		x.State, x.CancelTimers, x.Err = res.GetState(), res.GetCancelTimers(), res.GetError()
		for _, t := range res.GetSetTimers() {
			tt, err := timerFromPB(t)
			if err != nil {
				return nil, err
			}
			x.SetTimers = append(x.SetTimers, tt)
		}
		for _, f := range res.GetFires() {
			fire := Fire{Step: f.GetStep(), Key: f.GetKey()}
			if err := unmarshalJSON(f.GetDataJson(), &fire.Data, "fire data"); err != nil {
				return nil, err
			}
			x.Fires = append(x.Fires, fire)
		}
	}
	return out, nil
}

func sendRequestToPB(r *SendRequest) (*pb.SendRequest, error) {
	out := &pb.SendRequest{Channel: r.Channel, ConfigJson: r.Config, Messages: make([]*pb.Message, 0, len(r.Messages))}
	for i := range r.Messages {
		m := &r.Messages[i]
		prof, err := marshalJSON(&m.Profile)
		if err != nil {
			return nil, err
		}
		ev, err := marshalJSON(&m.Event)
		if err != nil {
			return nil, err
		}
		var fire []byte
		if m.Fire != nil {
			if fire, err = marshalJSON(m.Fire); err != nil {
				return nil, err
			}
		}
		out.Messages = append(out.Messages, &pb.Message{
			Id: m.ID, Trigger: m.Trigger, Step: m.Step, ProfileJson: prof, EventJson: ev, FireJson: fire,
			Subject: m.Subject, Text: m.Text, Html: m.HTML, CreatedAt: timestamppb.New(m.CreatedAt),
			Attempt: uint32(m.Attempt), Headers: m.Headers, Variant: m.Variant,
		})
	}
	return out, nil
}

func sendRequestFromPB(r *pb.SendRequest) (*SendRequest, error) {
	out := &SendRequest{Channel: r.GetChannel(), Config: r.GetConfigJson(), Messages: make([]Message, len(r.GetMessages()))}
	for i, m := range r.GetMessages() {
		x := &out.Messages[i]
		x.ID, x.Trigger, x.Step = m.GetId(), m.GetTrigger(), m.GetStep()
		x.Subject, x.Text, x.HTML = m.GetSubject(), m.GetText(), m.GetHtml()
		x.CreatedAt, x.Attempt = m.GetCreatedAt().AsTime(), int(m.GetAttempt())
		x.Variant = m.GetVariant()
		if h := m.GetHeaders(); len(h) > 0 {
			x.Headers = h
		}
		if err := unmarshalJSON(m.GetProfileJson(), &x.Profile, "profile"); err != nil {
			return nil, err
		}
		if err := unmarshalJSON(m.GetEventJson(), &x.Event, "event"); err != nil {
			return nil, err
		}
		if err := unmarshalJSON(m.GetFireJson(), &x.Fire, "fire data"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sendResponseToPB(r *SendResponse) *pb.SendResponse {
	out := &pb.SendResponse{Results: make([]*pb.SendResult, 0, len(r.Results))}
	for _, res := range r.Results {
		x := &pb.SendResult{Status: pb.SendResult_Status(res.Status), ProviderId: res.ProviderID, Error: res.Error}
		if res.RetryAfter > 0 {
			x.RetryAfter = durationpb.New(res.RetryAfter)
		}
		out.Results = append(out.Results, x)
	}
	return out
}

func sendResponseFromPB(r *pb.SendResponse, messages int) (*SendResponse, error) {
	if n := len(r.GetResults()); n != messages {
		return nil, fmt.Errorf("plugin answered %d results for %d messages", n, messages)
	}
	out := &SendResponse{Results: make([]SendResult, len(r.GetResults()))}
	for i, res := range r.GetResults() {
		st := SendStatus(res.GetStatus())
		if st < StatusOK || st > StatusPermanent {
			// An answer we cannot classify is treated as a failure that may
			// pass: retrying is safe because messages carry idempotency keys.
			st = StatusRetryable
		}
		out.Results[i] = SendResult{
			Status: st, ProviderID: res.GetProviderId(), Error: res.GetError(),
			RetryAfter: max(res.GetRetryAfter().AsDuration(), 0),
		}
	}
	return out, nil
}
