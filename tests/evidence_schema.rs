//! The report's `evidence`, as `check --json` writes it for real photos, against its published
//! schema (`docs/evidence.schema.json`): every key the output holds is in the schema, every
//! required key is in the output, and the types agree. The schema is checked with a small
//! validator for the JSON Schema keywords it uses (`type`, `properties`, `required`,
//! `additionalProperties`, `items`, `minItems`, `maxItems`, `minimum`, `maximum`, `enum`,
//! `oneOf`, `$ref`); string `pattern`s are not checked here.

mod common;

use serde_json::Value;

fn schema() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/evidence.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema")).expect("JSON")
}

fn type_matches(name: &str, v: &Value) -> bool {
    match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("the schema uses type {other:?}, which this validator does not know"),
    }
}

/// Appends to `errors` every way `v` (at `path`) breaks `schema`; `root` resolves `$ref`s.
fn validate(schema: &Value, root: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/$defs/")
            .expect("local $defs references only");
        validate(&root["$defs"][name], root, v, path, errors);
        return;
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let passing = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                validate(o, root, v, path, &mut e);
                e.is_empty()
            })
            .count();
        if passing != 1 {
            errors.push(format!("{path}: matches {passing} of oneOf's options: {v}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        errors.push(format!("{path}: {v} is not one of {allowed:?}"));
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_matches(t, v) => {
            errors.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| type_matches(t.as_str().unwrap_or(""), v)) => {
            errors.push(format!("{path}: {v} is not of the types {ts:?}"));
            return;
        }
        _ => {}
    }
    if let Some(object) = v.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                errors.push(format!("{path}: required key {key:?} is missing"));
            }
        }
        for (key, value) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => validate(sub, root, value, &format!("{path}.{key}"), errors),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: key {key:?} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let Some(items) = v.as_array() {
        let bound = |k: &str| schema.get(k).and_then(Value::as_u64);
        if bound("minItems").is_some_and(|n| (items.len() as u64) < n)
            || bound("maxItems").is_some_and(|n| (items.len() as u64) > n)
        {
            errors.push(format!(
                "{path}: {} items, out of the schema's bounds",
                items.len()
            ));
        }
        if let Some(item) = schema.get("items") {
            for (i, value) in items.iter().enumerate() {
                validate(item, root, value, &format!("{path}[{i}]"), errors);
            }
        }
    }
    if let Some(x) = v.as_f64() {
        let limit = |k: &str| schema.get(k).and_then(Value::as_f64);
        if limit("minimum").is_some_and(|m| x < m) || limit("maximum").is_some_and(|m| x > m) {
            errors.push(format!("{path}: {x} is out of the schema's range"));
        }
    }
}

fn errors_of(evidence: &Value) -> Vec<String> {
    let schema = schema();
    let mut errors = Vec::new();
    validate(&schema, &schema, evidence, "evidence", &mut errors);
    errors
}

/// `check --json`'s evidence for a testdata photo whose name starts with `prefix`.
fn evidence_of(prefix: &str) -> Value {
    let name = common::photo_by_prefix(prefix);
    let row = common::manifest()
        .into_iter()
        .find(|r| r["photo"] == name)
        .expect("the photo's manifest row");
    let photo = format!("testdata/{name}");
    let out = common::labelcheck(&[
        "check",
        &photo,
        "--serial",
        &row["reported_serial"],
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{photo}: {e}; {}", common::stderr(&out)));
    report["evidence"].clone()
}

#[test]
fn reports_of_real_photos_follow_the_published_schema() {
    // A full serial with codes, a short serial, a label with two serials, one with none.
    let mut fields = 0;
    let mut codes = 0;
    for prefix in ["000_", "001_", "008_", "007_"] {
        let evidence = evidence_of(prefix);
        assert_eq!(
            errors_of(&evidence),
            Vec::<String>::new(),
            "{prefix}: {evidence}"
        );
        fields += evidence["fields"].as_array().map_or(0, Vec::len);
        codes += evidence["codes"].as_array().map_or(0, Vec::len);
    }
    assert!(fields >= 3, "the photos gave {fields} fields");
    assert!(codes >= 1, "the photos gave {codes} codes");
}

#[test]
fn the_validator_refuses_what_the_schema_does_not_describe() {
    let mut evidence = evidence_of("001_");
    assert!(errors_of(&evidence).is_empty());
    evidence["verification_code"] = Value::from("ABCDEF");
    evidence["lines"] = Value::from(-1);
    evidence["codes"] =
        serde_json::json!([{"symbology": "ean13", "box": {"x0": 0, "y0": 0}, "serial": null}]);
    let errors = errors_of(&evidence);
    for expected in [
        "verification_code",
        "evidence.lines",
        "ean13",
        "required key \"x1\"",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected}: {errors:?}"
        );
    }
    let mut missing = evidence_of("001_");
    missing.as_object_mut().map(|o| o.remove("photo_blur"));
    assert!(errors_of(&missing).iter().any(|e| e.contains("photo_blur")));
}
