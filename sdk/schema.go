package sdk

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// AttrType names the type of a config attribute. The host checks values
// against it before the plugin sees them.
type AttrType string

// The attribute types a plugin schema can use.
const (
	TypeString     AttrType = "string"
	TypeNumber     AttrType = "number"
	TypeBool       AttrType = "bool"
	TypeDuration   AttrType = "duration"   // a string such as "90m"; see Duration
	TypeExpression AttrType = "expression" // an unevaluated HCL expression; see Expression
	TypeStringList AttrType = "list(string)"
	TypeNumberList AttrType = "list(number)"
	TypeStringMap  AttrType = "map(string)"
	TypeEventTypes AttrType = "list(event_type)" // a list of event types or patterns; see EventTypes
)

// Schema describes a plugin's config block.
type Schema struct {
	Attributes []AttributeSchema
	Blocks     []BlockSchema
}

// AttributeSchema describes one attribute.
type AttributeSchema struct {
	Name        string
	Type        AttrType
	Required    bool
	Description string
}

// BlockSchema describes a nested block.
type BlockSchema struct {
	Name        string
	Schema      Schema
	Repeated    bool
	Required    bool
	Description string
}

// SchemaOf reflects a Schema from a config struct (or a pointer to one).
//
// Fields are described by two tags:
//
//	hcl:"name"           a required attribute
//	hcl:"name,optional"  an optional attribute
//	hcl:"name,block"     a nested block: a struct (one block, required),
//	                     a pointer to a struct (one block, optional) or a
//	                     slice of structs (any number of blocks)
//	doc:"..."            the description shown to admins
//
// Field types map to attribute types: string, bool, the integer and float
// kinds (number), Duration, Expression, []string, []float64/[]int and
// map[string]string. SchemaOf panics on any other type, since that is a bug
// in the plugin and shows up in its first test.
func SchemaOf(cfg any) Schema {
	t := reflect.TypeOf(cfg)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s, err := schemaOf(t)
	if err != nil {
		panic("sdk.SchemaOf: " + err.Error())
	}
	return s
}

var (
	durationType   = reflect.TypeFor[Duration]()
	expressionType = reflect.TypeFor[Expression]()
	eventTypesType = reflect.TypeFor[EventTypes]()
)

func schemaOf(t reflect.Type) (Schema, error) {
	if t.Kind() != reflect.Struct {
		return Schema{}, fmt.Errorf("%s is not a struct", t)
	}
	var s Schema
	for _, f := range fieldsOf(t) {
		if f.block {
			bt, repeated, required := f.field.Type, false, true
			switch bt.Kind() {
			case reflect.Slice:
				bt, repeated, required = bt.Elem(), true, false
			case reflect.Pointer:
				bt, required = bt.Elem(), false
			}
			inner, err := schemaOf(bt)
			if err != nil {
				return Schema{}, fmt.Errorf("block %q: %w", f.name, err)
			}
			s.Blocks = append(s.Blocks, BlockSchema{
				Name: f.name, Schema: inner, Repeated: repeated, Required: required, Description: f.doc,
			})
			continue
		}
		at, err := attrTypeOf(f.field.Type)
		if err != nil {
			return Schema{}, fmt.Errorf("attribute %q: %w", f.name, err)
		}
		s.Attributes = append(s.Attributes, AttributeSchema{
			Name: f.name, Type: at, Required: !f.optional, Description: f.doc,
		})
	}
	return s, nil
}

func attrTypeOf(t reflect.Type) (AttrType, error) {
	switch t {
	case durationType:
		return TypeDuration, nil
	case expressionType:
		return TypeExpression, nil
	case eventTypesType:
		return TypeEventTypes, nil
	}
	switch t.Kind() {
	case reflect.String:
		return TypeString, nil
	case reflect.Bool:
		return TypeBool, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return TypeNumber, nil
	case reflect.Slice:
		switch e := t.Elem(); {
		case e.Kind() == reflect.String:
			return TypeStringList, nil
		case e.Kind() >= reflect.Int && e.Kind() <= reflect.Float64:
			return TypeNumberList, nil
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return TypeStringMap, nil
		}
	}
	return "", fmt.Errorf("unsupported field type %s", t)
}

type taggedField struct {
	index    int
	field    reflect.StructField
	name     string
	optional bool
	block    bool
	doc      string
}

func fieldsOf(t reflect.Type) []taggedField {
	var out []taggedField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("hcl")
		if !ok || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, taggedField{
			index: i, field: f, name: name,
			optional: opts == "optional", block: opts == "block",
			doc: f.Tag.Get("doc"),
		})
	}
	return out
}

// DecodeError is a config value that does not fit the config struct.
type DecodeError struct {
	Path Path
	Err  error
}

func (e *DecodeError) Error() string {
	if len(e.Path) == 0 {
		return e.Err.Error()
	}
	return e.Path.String() + ": " + e.Err.Error()
}

func (e *DecodeError) Unwrap() error { return e.Err }

// DecodeConfig decodes a RawConfig into a struct tagged as for SchemaOf.
// Missing optional attributes keep the value the struct already holds, so
// set defaults before decoding. Errors are *DecodeError.
func DecodeConfig(raw RawConfig, cfg any) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("sdk.DecodeConfig: want a pointer to a struct, got %T", cfg)
	}
	if len(raw) == 0 {
		raw = RawConfig("{}")
	}
	return decodeStruct(json.RawMessage(raw), v.Elem(), nil)
}

func decodeStruct(raw json.RawMessage, v reflect.Value, path Path) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return &DecodeError{Path: path, Err: fmt.Errorf("want an object: %w", err)}
	}
	for _, f := range fieldsOf(v.Type()) {
		fp := path.Attr(f.name)
		val, present := obj[f.name]
		if !present || string(val) == "null" {
			switch {
			case f.block && f.field.Type.Kind() == reflect.Struct:
				return &DecodeError{Path: fp, Err: fmt.Errorf("required block %q is missing", f.name)}
			case !f.optional && !f.block:
				return &DecodeError{Path: fp, Err: fmt.Errorf("required attribute %q is missing", f.name)}
			}
			continue
		}
		fv := v.Field(f.index)
		if !f.block {
			if err := json.Unmarshal(val, fv.Addr().Interface()); err != nil {
				return &DecodeError{Path: fp, Err: err}
			}
			continue
		}
		switch fv.Kind() {
		case reflect.Struct:
			if err := decodeStruct(val, fv, fp); err != nil {
				return err
			}
		case reflect.Pointer:
			p := reflect.New(fv.Type().Elem())
			if err := decodeStruct(val, p.Elem(), fp); err != nil {
				return err
			}
			fv.Set(p)
		case reflect.Slice:
			var items []json.RawMessage
			if err := json.Unmarshal(val, &items); err != nil {
				return &DecodeError{Path: fp, Err: fmt.Errorf("want a list of blocks: %w", err)}
			}
			s := reflect.MakeSlice(fv.Type(), len(items), len(items))
			for i, item := range items {
				if err := decodeStruct(item, s.Index(i), fp.Index(i)); err != nil {
					return err
				}
			}
			fv.Set(s)
		}
	}
	return nil
}

// Duration is a config attribute written as a Go duration string ("90s",
// "1h30m"). The host checks the syntax before the plugin sees it.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"1h\": %w", err)
	}
	x, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(x)
	return nil
}

// ParseDuration parses a duration as config files write it. Beyond Go's
// units it accepts "d" for days ("7d"), which marketing rules use a lot.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.ParseFloat(n, 64); err == nil && days >= 0 && days < 1e5 {
			return time.Duration(days * float64(24*time.Hour)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: write it like \"90s\", \"15m\", \"1h30m\" or \"7d\"", s)
	}
	return d, nil
}
