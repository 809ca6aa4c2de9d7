//! API catalogs: the built-in documents, matching a playbook's calls against them, RP007's
//! missing-parameter check, and reading users' own OpenAPI documents.

use riposte_core::catalog::{
    ApiCatalog, CatalogError, Endpoint, HttpMethod, Lookup, MissingParam, ParamLocation, PathPart,
    PathPattern, Segment, resolve_request_path,
};

use HttpMethod::{Delete, Get, Patch, Post, Put};

fn builtin(name: &str) -> &'static ApiCatalog {
    ApiCatalog::builtin(name).unwrap_or_else(|| panic!("built-in catalog {name} should load"))
}

fn endpoint<'a>(catalog: &'a ApiCatalog, method: HttpMethod, path: &str) -> &'a Endpoint {
    catalog
        .endpoints
        .iter()
        .find(|e| e.method == method && e.path == path && e.action.is_none())
        .unwrap_or_else(|| panic!("{} should have {method} {path}", catalog.name))
}

fn action<'a>(catalog: &'a ApiCatalog, method: HttpMethod, name: &str) -> &'a Endpoint {
    catalog
        .endpoints
        .iter()
        .find(|e| e.method == method && e.action.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("{} should have {method} Action={name}", catalog.name))
}

fn required(endpoint: &Endpoint) -> Vec<(ParamLocation, &str)> {
    endpoint.required_params()
}

/// `f"{prefix}{hole}{suffix}"`
fn fstring(prefix: &str, suffix: &str) -> PathPattern {
    PathPattern::from_parts(&[
        PathPart::Text(prefix.to_owned()),
        PathPart::Hole,
        PathPart::Text(suffix.to_owned()),
    ])
}

fn found<'a>(lookup: Lookup<'a>) -> &'a Endpoint {
    match lookup {
        Lookup::Found(endpoint) => endpoint,
        other => panic!("expected Found, got {other:?}"),
    }
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn missing(name: &str, location: ParamLocation, forgotten_f_string: bool) -> MissingParam {
    MissingParam {
        name: name.to_owned(),
        location,
        forgotten_f_string,
    }
}

// ---------------------------------------------------------------- built-in catalogs

#[test]
fn every_builtin_loads_by_name_and_alias() {
    assert_eq!(
        ApiCatalog::builtin_names(),
        &[
            "microsoft-graph",
            "virustotal",
            "jira-cloud",
            "servicenow-table",
            "slack",
            "aws-iam"
        ]
    );
    for name in ApiCatalog::builtin_names() {
        let catalog = builtin(name);
        assert_eq!(catalog.name, *name);
        assert!(!catalog.title.is_empty(), "{name} has a title");
        assert!(!catalog.endpoints.is_empty(), "{name} has endpoints");
        for endpoint in &catalog.endpoints {
            assert!(
                !endpoint.summary.is_empty(),
                "{name} {} has a summary",
                endpoint.label()
            );
        }
    }
    for (alias, name) in [
        ("graph", "microsoft-graph"),
        ("GRAPH", "microsoft-graph"),
        ("jira", "jira-cloud"),
        ("servicenow", "servicenow-table"),
        (" VirusTotal ", "virustotal"),
        ("AWS-IAM", "aws-iam"),
    ] {
        assert_eq!(builtin(alias).name, name);
    }
    assert!(ApiCatalog::builtin("github").is_none());
    assert!(ApiCatalog::builtin("./apis/virustotal.json").is_none());
    // Parsed once: the same static each time.
    assert!(std::ptr::eq(builtin("graph"), builtin("microsoft-graph")));
}

#[test]
fn graph_catalog_has_the_soc_endpoints() {
    let graph = builtin("microsoft-graph");
    assert_eq!(graph.server_path, "/v1.0");
    endpoint(graph, Get, "/users");
    endpoint(graph, Get, "/users/{user-id}");
    let update = endpoint(graph, Patch, "/users/{user-id}");
    assert!(update.body.iter().any(|p| p.name == "accountEnabled"));
    assert!(update.mutating);
    let revoke = endpoint(graph, Post, "/users/{user-id}/revokeSignInSessions");
    assert_eq!(revoke.path_params, ["user-id"]);
    assert!(revoke.mutating);
    endpoint(graph, Get, "/security/alerts_v2");
    endpoint(graph, Get, "/security/alerts_v2/{alert-id}");
    endpoint(graph, Patch, "/security/alerts_v2/{alert-id}");
    let comment = endpoint(graph, Post, "/security/alerts_v2/{alert-id}/comments");
    assert_eq!(
        required(comment),
        [
            (ParamLocation::Path, "alert-id"),
            (ParamLocation::Body, "comment")
        ]
    );
    endpoint(graph, Get, "/security/incidents/{incident-id}");
    endpoint(graph, Patch, "/security/incidents/{incident-id}");
    let send = endpoint(graph, Post, "/users/{user-id}/sendMail");
    assert!(send.body.iter().any(|p| p.name == "message" && p.required));
    let messages = endpoint(graph, Get, "/users/{user-id}/messages");
    assert!(
        messages
            .query
            .iter()
            .any(|p| p.name == "$filter" && !p.required)
    );
    let teams = endpoint(
        graph,
        Post,
        "/teams/{team-id}/channels/{channel-id}/messages",
    );
    assert_eq!(teams.path_params, ["team-id", "channel-id"]);
    assert!(teams.body.iter().any(|p| p.name == "body" && p.required));
    let add_member = endpoint(graph, Post, "/groups/{group-id}/members/$ref");
    assert!(
        add_member
            .body
            .iter()
            .any(|p| p.name == "@odata.id" && p.required)
    );
    // A hunting query is sent with POST but reads.
    assert!(!endpoint(graph, Post, "/security/runHuntingQuery").mutating);
    // Defender machine isolation is not a Graph API.
    assert!(graph.endpoints.iter().all(|e| !e.path.contains("isolate")));
}

#[test]
fn virustotal_catalog_has_the_lookups() {
    let vt = builtin("virustotal");
    assert_eq!(vt.server_path, "/api/v3");
    for path in [
        "/files/{id}",
        "/urls/{id}",
        "/ip_addresses/{ip}",
        "/domains/{domain}",
        "/files/{id}/comments",
        "/urls/{id}/comments",
    ] {
        assert!(!endpoint(vt, Get, path).mutating, "GET {path} reads");
    }
    let scan = endpoint(vt, Post, "/urls");
    assert_eq!(required(scan), [(ParamLocation::Body, "url")]);
    assert!(scan.body_required);
}

#[test]
fn jira_servicenow_and_slack_catalogs() {
    let jira = builtin("jira");
    assert_eq!(jira.server_path, "");
    assert_eq!(
        required(endpoint(jira, Post, "/rest/api/3/issue")),
        [(ParamLocation::Body, "fields")]
    );
    endpoint(jira, Get, "/rest/api/3/issue/{issueIdOrKey}");
    let comment = endpoint(jira, Post, "/rest/api/3/issue/{issueIdOrKey}/comment");
    assert_eq!(
        required(comment),
        [
            (ParamLocation::Path, "issueIdOrKey"),
            (ParamLocation::Body, "body")
        ]
    );
    endpoint(jira, Get, "/rest/api/3/issue/{issueIdOrKey}/transitions");
    endpoint(jira, Post, "/rest/api/3/issue/{issueIdOrKey}/transitions");
    endpoint(jira, Get, "/rest/api/3/search");

    let snow = builtin("servicenow");
    for method in [Get, Post] {
        endpoint(snow, method, "/api/now/table/incident");
        endpoint(snow, method, "/api/now/table/{tableName}");
    }
    for method in [Get, Patch, Put, Delete] {
        endpoint(snow, method, "/api/now/table/incident/{sys_id}");
    }

    let slack = builtin("slack");
    assert_eq!(slack.server_path, "/api");
    assert_eq!(
        required(endpoint(slack, Post, "/chat.postMessage")),
        [(ParamLocation::Body, "channel")]
    );
    endpoint(slack, Get, "/conversations.list");
    let lookup = endpoint(slack, Get, "/users.lookupByEmail");
    assert_eq!(required(lookup), [(ParamLocation::Query, "email")]);
    // Slack's read methods also take a form with POST, which does not make them writes.
    assert!(!endpoint(slack, Post, "/users.lookupByEmail").mutating);
}

#[test]
fn aws_iam_catalog_has_the_actions_with_their_required_parameters() {
    let iam = builtin("aws-iam");
    assert_eq!(iam.server_path, "");
    assert!(iam.is_action_based());
    let body_required = |name: &str| -> Vec<String> {
        let endpoint = action(iam, Post, name);
        assert_eq!(endpoint.path, "/");
        endpoint
            .body
            .iter()
            .filter(|p| p.required)
            .map(|p| p.name.clone())
            .collect()
    };
    assert_eq!(body_required("ListUsers"), Vec::<String>::new());
    assert_eq!(body_required("GetUser"), Vec::<String>::new());
    assert_eq!(body_required("ListAccessKeys"), Vec::<String>::new());
    assert_eq!(body_required("UpdateAccessKey"), ["AccessKeyId", "Status"]);
    assert_eq!(body_required("DeleteLoginProfile"), Vec::<String>::new());
    assert_eq!(body_required("UpdateLoginProfile"), ["UserName"]);
    assert_eq!(body_required("AttachUserPolicy"), ["PolicyArn", "UserName"]);
    assert_eq!(
        body_required("PutUserPolicy"),
        ["PolicyDocument", "PolicyName", "UserName"]
    );
    assert_eq!(body_required("ListAttachedUserPolicies"), ["UserName"]);
    assert_eq!(body_required("TagUser"), ["Tags", "UserName"]);
    assert_eq!(body_required("DeactivateMFADevice"), ["SerialNumber"]);
    assert_eq!(body_required("ListGroupsForUser"), ["UserName"]);

    let update = action(iam, Post, "UpdateLoginProfile");
    // `Action` is the endpoint's own; `Version` must still be sent.
    assert!(update.query.iter().all(|p| p.name != "Action"));
    assert!(
        update
            .query
            .iter()
            .any(|p| p.name == "Version" && p.required)
    );
    assert!(update.mutating);
    // Reads are offered with GET too, and a POST of a read does not mutate.
    assert_eq!(
        required(action(iam, Get, "ListAttachedUserPolicies")),
        [
            (ParamLocation::Query, "Version"),
            (ParamLocation::Query, "UserName")
        ]
    );
    assert!(!action(iam, Post, "ListUsers").mutating);
    // Writes are POST only, so a GET of one is flagged.
    assert!(
        iam.endpoints
            .iter()
            .all(|e| e.action.as_deref() != Some("DeleteLoginProfile") || e.method == Post)
    );
}

// ---------------------------------------------------------------- lookups of real calls

#[test]
fn virustotal_url_report_by_fstring_id() {
    let vt = builtin("virustotal");
    // vt.get(f"/urls/{url.id}") under base https://www.virustotal.com/api/v3
    let report = found(vt.lookup(Get, &fstring("/urls/", ""), "/api/v3", None));
    assert_eq!(report.path, "/urls/{id}");
    // The design's example repeats the base path: f"/api/v3/urls/{url.id}".
    let report = found(vt.lookup(Get, &fstring("/api/v3/urls/", ""), "/api/v3", None));
    assert_eq!(report.path, "/urls/{id}");
    // A trailing slash is tolerated.
    let report = found(vt.lookup(Get, &fstring("/urls/", "/"), "/api/v3", None));
    assert_eq!(report.path, "/urls/{id}");
}

#[test]
fn graph_revoke_with_and_without_version_in_the_base_url() {
    let graph = builtin("graph");
    let call = fstring("/users/", "/revokeSignInSessions");
    let with_base = found(graph.lookup(Post, &call, "/v1.0", None));
    assert_eq!(with_base.path, "/users/{user-id}/revokeSignInSessions");

    let call = PathPattern::parse_literal("/v1.0/users/alice@contoso.com/revokeSignInSessions");
    let without_base = found(graph.lookup(Post, &call, "", None));
    assert_eq!(without_base, with_base);

    // A base URL with the version, and a call that repeats it.
    let repeated = found(graph.lookup(Post, &call, "/v1.0", None));
    assert_eq!(repeated, with_base);
}

#[test]
fn jira_create_issue_and_servicenow_incident_update() {
    let jira = builtin("jira-cloud");
    let create = found(jira.lookup(
        Post,
        &PathPattern::parse_literal("/rest/api/3/issue"),
        "",
        None,
    ));
    assert_eq!(create.path, "/rest/api/3/issue");
    let comment = found(jira.lookup(Post, &fstring("/rest/api/3/issue/", "/comment"), "", None));
    assert_eq!(comment.path, "/rest/api/3/issue/{issueIdOrKey}/comment");

    let snow = builtin("servicenow-table");
    // The incident-specific template beats the generic table one: "incident" matched literally.
    let patch = found(snow.lookup(Patch, &fstring("/api/now/table/incident/", ""), "", None));
    assert_eq!(patch.path, "/api/now/table/incident/{sys_id}");
    let users = found(snow.lookup(
        Get,
        &PathPattern::parse_literal("/api/now/table/sys_user"),
        "",
        None,
    ));
    assert_eq!(users.path, "/api/now/table/{tableName}");
    // A base URL ending in /api, and a call relative to it.
    let under_api = found(snow.lookup(
        Get,
        &PathPattern::parse_literal("/now/table/incident?sysparm_limit=5"),
        "/api",
        None,
    ));
    assert_eq!(under_api.path, "/api/now/table/incident");
    // A base URL through a proxy path that is no part of the API.
    let proxied = found(snow.lookup(
        Get,
        &PathPattern::parse_literal("/api/now/table/incident"),
        "/snow-proxy",
        None,
    ));
    assert_eq!(proxied.path, "/api/now/table/incident");
}

#[test]
fn aws_iam_action_by_name() {
    let iam = builtin("aws-iam");
    let root = PathPattern::parse_literal("/");
    let update = found(iam.lookup(Post, &root, "", Some("UpdateLoginProfile")));
    assert_eq!(update.action.as_deref(), Some("UpdateLoginProfile"));
    assert_eq!(update.method, Post);
    // The action may be written into the path's query string instead.
    let list = found(iam.lookup(
        Get,
        &PathPattern::parse_literal("/?Action=ListUsers&Version=2010-05-08"),
        "",
        None,
    ));
    assert_eq!(list.action.as_deref(), Some("ListUsers"));
    // An empty request path is the base URL itself.
    let list = found(iam.lookup(Get, &PathPattern::parse_literal(""), "", Some("ListUsers")));
    assert_eq!(list.action.as_deref(), Some("ListUsers"));
    // A mutating action sent with GET.
    assert_eq!(
        iam.lookup(Get, &root, "", Some("DeleteLoginProfile")),
        Lookup::MethodNotAllowed {
            allowed: vec![Post]
        }
    );
    // A misspelt action.
    match iam.lookup(Post, &root, "", Some("ListUser")) {
        Lookup::NotFound {
            suggestion: Some(s),
        } => assert_eq!(s.action.as_deref(), Some("ListUsers")),
        other => panic!("expected a suggestion, got {other:?}"),
    }
    match iam.lookup(Post, &root, "", Some("CreateBucket")) {
        Lookup::NotFound { suggestion: None } => {}
        other => panic!("expected NotFound without suggestion, got {other:?}"),
    }
    // Action not known statically (data=payload): any POST action could be meant.
    match iam.lookup(Post, &root, "", None) {
        Lookup::Ambiguous { candidates } => {
            assert!(candidates.len() > 10);
            assert!(
                candidates
                    .iter()
                    .all(|e| e.method == Post && e.action.is_some())
            );
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[test]
fn method_not_allowed_lists_the_methods_the_path_has() {
    let graph = builtin("graph");
    let call = PathPattern::parse_literal("/users/alice/revokeSignInSessions");
    assert_eq!(
        graph.lookup(Get, &call, "/v1.0", None),
        Lookup::MethodNotAllowed {
            allowed: vec![Post]
        }
    );
    let snow = builtin("servicenow");
    assert_eq!(
        snow.lookup(
            Delete,
            &PathPattern::parse_literal("/api/now/table/incident"),
            "",
            None
        ),
        Lookup::MethodNotAllowed {
            allowed: vec![Get, Post]
        }
    );
}

#[test]
fn not_found_suggests_the_closest_endpoint() {
    let vt = builtin("virustotal");
    match vt.lookup(Get, &fstring("/url/", ""), "/api/v3", None) {
        Lookup::NotFound {
            suggestion: Some(s),
        } => assert_eq!(s.path, "/urls/{id}"),
        other => panic!("expected a suggestion, got {other:?}"),
    }
    let graph = builtin("graph");
    match graph.lookup(Post, &fstring("/users/", "/revokeSessions"), "/v1.0", None) {
        Lookup::NotFound {
            suggestion: Some(s),
        } => assert_eq!(s.path, "/users/{user-id}/revokeSignInSessions"),
        other => panic!("expected a suggestion, got {other:?}"),
    }
    match graph.lookup(Get, &fstring("/security/alerts/", ""), "/v1.0", None) {
        Lookup::NotFound {
            suggestion: Some(s),
        } => assert_eq!(s.path, "/security/alerts_v2/{alert-id}"),
        other => panic!("expected a suggestion, got {other:?}"),
    }
    match vt.lookup(
        Get,
        &PathPattern::parse_literal("/completely/different/api/call/here"),
        "/api/v3",
        None,
    ) {
        Lookup::NotFound { suggestion: None } => {}
        other => panic!("expected NotFound without suggestion, got {other:?}"),
    }
}

#[test]
fn literal_segments_beat_holes_and_ties_are_ambiguous() {
    let catalog = ApiCatalog::from_openapi(
        "users",
        r#"{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": {
            "/users/{id}": {"get": {"summary": "one user"}},
            "/users/delta": {"get": {"summary": "changes"}},
            "/groups/{id}": {"get": {"summary": "one group"}}
        }}"#,
    )
    .unwrap();
    let delta = found(catalog.lookup(Get, &PathPattern::parse_literal("/users/delta"), "", None));
    assert_eq!(delta.path, "/users/delta");
    let one = found(catalog.lookup(Get, &PathPattern::parse_literal("/users/bob"), "", None));
    assert_eq!(one.path, "/users/{id}");
    let by_hole = found(catalog.lookup(Get, &fstring("/users/", ""), "", None));
    assert_eq!(by_hole.path, "/users/{id}");
    let both_holes = PathPattern::from_parts(&[
        PathPart::Text("/".into()),
        PathPart::Hole,
        PathPart::Text("/".into()),
        PathPart::Hole,
    ]);
    match catalog.lookup(Get, &both_holes, "", None) {
        Lookup::Ambiguous { candidates } => {
            // `/users/delta` needs a hole to stand for "delta" as well, so it ranks lower.
            let paths: Vec<&str> = candidates.iter().map(|e| e.path.as_str()).collect();
            assert_eq!(paths, ["/groups/{id}", "/users/{id}"]);
        }
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[test]
fn completion_lists_endpoints_by_method() {
    let graph = builtin("graph");
    let posts: Vec<&str> = graph.endpoints_for(Post).map(|e| e.path.as_str()).collect();
    assert!(posts.contains(&"/users/{user-id}/revokeSignInSessions"));
    assert!(!posts.contains(&"/users"));
    assert!(graph.endpoints_for(Put).next().is_none());
}

// ---------------------------------------------------------------- RP007

#[test]
fn jira_issue_without_fields() {
    let jira = builtin("jira");
    let create = endpoint(jira, Post, "/rest/api/3/issue");
    let path = PathPattern::parse_literal("/rest/api/3/issue");
    assert_eq!(
        create.missing_required(&path, Some(&[]), Some(&keys(&["update"]))),
        [missing("fields", ParamLocation::Body, false)]
    );
    assert_eq!(
        create.missing_required(&path, Some(&[]), Some(&[])),
        [missing("fields", ParamLocation::Body, false)]
    );
    assert!(
        create
            .missing_required(&path, Some(&[]), Some(&keys(&["fields"])))
            .is_empty()
    );
    // json=payload: not a literal dict, nothing to say.
    assert!(create.missing_required(&path, Some(&[]), None).is_empty());
}

#[test]
fn path_parameter_left_as_literal_braces_is_a_forgotten_fstring() {
    let vt = builtin("virustotal");
    let report = endpoint(vt, Get, "/urls/{id}");
    // vt.get("/urls/{url_id}") without the f prefix
    let call = PathPattern::parse_literal("/urls/{url_id}");
    assert_eq!(found(vt.lookup(Get, &call, "/api/v3", None)), report);
    assert_eq!(
        report.missing_required(&call, Some(&[]), Some(&[])),
        [missing("id", ParamLocation::Path, true)]
    );
    // With the base path written out too.
    let call = PathPattern::parse_literal("/api/v3/urls/{id}");
    assert_eq!(
        report.missing_required(&call, Some(&[]), Some(&[])),
        [missing("id", ParamLocation::Path, true)]
    );
    // With the f prefix, all is well.
    assert!(
        report
            .missing_required(&fstring("/urls/", ""), Some(&[]), Some(&[]))
            .is_empty()
    );

    let graph = builtin("graph");
    let revoke = endpoint(graph, Post, "/users/{user-id}/revokeSignInSessions");
    let empty = PathPattern::parse_literal("/users//revokeSignInSessions");
    assert_eq!(found(graph.lookup(Post, &empty, "/v1.0", None)), revoke);
    assert_eq!(
        revoke.missing_required(&empty, Some(&[]), Some(&[])),
        [missing("user-id", ParamLocation::Path, false)]
    );
}

#[test]
fn iam_call_without_user_name() {
    let iam = builtin("aws-iam");
    let attach = action(iam, Post, "AttachUserPolicy");
    let root = PathPattern::parse_literal("/");
    let data = keys(&["Action", "Version", "PolicyArn"]);
    assert_eq!(
        attach.missing_required(&root, Some(&[]), Some(&data)),
        [missing("UserName", ParamLocation::Body, false)]
    );
    // Parameters may come in the query string as well as in the form.
    let query = keys(&["UserName"]);
    assert!(
        attach
            .missing_required(&root, Some(&query), Some(&data))
            .is_empty()
    );
    // params=some_dict: the user name might be in it.
    assert!(attach.missing_required(&root, None, Some(&data)).is_empty());
    // Version is required by every IAM request.
    assert_eq!(
        attach.missing_required(
            &root,
            Some(&[]),
            Some(&keys(&["Action", "UserName", "PolicyArn"]))
        ),
        [missing("Version", ParamLocation::Query, false)]
    );
    // Lists and maps travel flattened.
    let tag = action(iam, Post, "TagUser");
    let data = keys(&[
        "Action",
        "Version",
        "UserName",
        "Tags.member.1.Key",
        "Tags.member.1.Value",
    ]);
    assert!(
        tag.missing_required(&root, Some(&[]), Some(&data))
            .is_empty()
    );
    // A key that merely starts with the same letters does not count.
    let data = keys(&["Action", "Version", "UserName", "TagsX"]);
    assert_eq!(
        tag.missing_required(&root, Some(&[]), Some(&data)),
        [missing("Tags", ParamLocation::Body, false)]
    );
}

#[test]
fn query_parameters_written_into_the_path_count() {
    let slack = builtin("slack");
    let lookup = endpoint(slack, Get, "/users.lookupByEmail");
    let bare = PathPattern::parse_literal("/users.lookupByEmail");
    assert_eq!(
        lookup.missing_required(&bare, Some(&[]), Some(&[])),
        [missing("email", ParamLocation::Query, false)]
    );
    assert!(
        lookup
            .missing_required(&bare, Some(&keys(&["email"])), Some(&[]))
            .is_empty()
    );
    let inline = fstring("/users.lookupByEmail?email=", "");
    assert!(
        lookup
            .missing_required(&inline, Some(&[]), Some(&[]))
            .is_empty()
    );
    // f"/users.lookupByEmail?{qs}": the keys are unknown.
    let opaque = fstring("/users.lookupByEmail?", "");
    assert!(opaque.opaque_query);
    assert!(
        lookup
            .missing_required(&opaque, Some(&[]), Some(&[]))
            .is_empty()
    );
}

// ---------------------------------------------------------------- paths

#[test]
fn request_paths_resolve_against_the_base_url_once() {
    assert_eq!(resolve_request_path("/api/v3", "/urls/x"), "/api/v3/urls/x");
    assert_eq!(
        resolve_request_path("/api/v3", "/api/v3/urls/x"),
        "/api/v3/urls/x"
    );
    assert_eq!(resolve_request_path("/api/v3/", "urls/x"), "/api/v3/urls/x");
    assert_eq!(resolve_request_path("/api/v3", "/api/v3"), "/api/v3");
    // Only a whole-segment prefix is the base path.
    assert_eq!(
        resolve_request_path("/api/v3", "/api/v3x/y"),
        "/api/v3/api/v3x/y"
    );
    assert_eq!(resolve_request_path("", "/users/x"), "/users/x");
    assert_eq!(resolve_request_path("/", "/users/x"), "/users/x");
    assert_eq!(resolve_request_path("", ""), "/");
    assert_eq!(
        resolve_request_path("/api", "?Action=ListUsers"),
        "/api?Action=ListUsers"
    );
    assert_eq!(
        resolve_request_path("/api/v3", "/api/v3/search?query=/api/v3"),
        "/api/v3/search?query=/api/v3"
    );

    let resolved = fstring("/urls/", "").resolve("/api/v3");
    assert_eq!(
        resolved.segments,
        [
            Segment::Literal("api".into()),
            Segment::Literal("v3".into()),
            Segment::Literal("urls".into()),
            Segment::Hole
        ]
    );
    assert_eq!(fstring("/api/v3/urls/", "").resolve("/api/v3"), resolved);
}

#[test]
fn path_patterns_split_segments_query_and_fragment() {
    let p = PathPattern::parse_literal("/a/b/?x=1&flag&y=#frag");
    assert_eq!(
        p.segments,
        [
            Segment::Literal("a".into()),
            Segment::Literal("b".into()),
            Segment::Literal(String::new())
        ]
    );
    assert_eq!(
        p.query,
        [
            ("x".to_owned(), Some("1".to_owned())),
            ("flag".to_owned(), None),
            ("y".to_owned(), Some(String::new()))
        ]
    );
    assert!(!p.opaque_query);

    let p = PathPattern::from_parts(&[
        PathPart::Hole,
        PathPart::Text("/files/".into()),
        PathPart::Hole,
        PathPart::Text(".json?limit=".into()),
        PathPart::Hole,
    ]);
    assert_eq!(
        p.segments,
        [
            Segment::Hole,
            Segment::Literal("files".into()),
            Segment::Mixed
        ]
    );
    assert_eq!(p.query, [("limit".to_owned(), None)]);
    assert_eq!(p.query_value("limit"), None);

    assert!(PathPattern::parse_literal("").segments.is_empty());
    assert_eq!(
        PathPattern::parse_literal("/").segments,
        [Segment::Literal(String::new())]
    );
    assert_eq!(
        PathPattern::parse_literal("users").segments,
        [Segment::Literal("users".into())]
    );
}

#[test]
fn http_methods_parse_case_insensitively() {
    assert_eq!(HttpMethod::parse("get"), Some(Get));
    assert_eq!(HttpMethod::parse("PATCH"), Some(Patch));
    assert_eq!(HttpMethod::parse("Delete"), Some(Delete));
    assert_eq!(HttpMethod::parse("head"), None);
    assert_eq!(Post.as_str(), "POST");
    assert_eq!(Put.to_string(), "PUT");
    assert!(!Get.is_mutating());
    assert!(HttpMethod::ALL.iter().filter(|m| m.is_mutating()).count() == 4);
}

// ---------------------------------------------------------------- users' own documents

const USER_DOC: &str = r##"{
  "openapi": "3.1.0",
  "info": {"title": "Acme EDR", "version": "2"},
  "servers": [{"url": "https://{tenant}.edr.example/{base}", "variables": {"tenant": {"default": "x"}, "base": {"default": "api/v2/"}}}],
  "paths": {
    "x-internal": {"ignored": true},
    "/hosts/{hostId}/isolate": {
      "parameters": [
        {"$ref": "#/components/parameters/HostId"},
        {"name": "reason", "in": "query", "required": false, "description": "Why"}
      ],
      "post": {
        "operationId": "isolateHost",
        "description": "Isolate a host from the network.\n\nLonger explanation that is not kept.",
        "parameters": [
          {"name": "reason", "in": "query", "required": true, "description": "Why, for the audit log"},
          {"name": "X-Request-Id", "in": "header", "required": true},
          {"name": "session", "in": "cookie", "required": true}
        ],
        "requestBody": {"$ref": "#/components/requestBodies/Isolation"}
      }
    },
    "/hosts": {
      "get": {"summary": "List hosts", "parameters": [{"$ref": "#/components/parameters/Limit"}]},
      "post": {
        "summary": "Register a host",
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"allOf": [
          {"$ref": "#/components/schemas/HostBase"},
          {"type": "object", "properties": {"os": {"type": "string"}}, "required": ["os"]}
        ]}}}}
      }
    },
    "/hosts/{hostId}/scan": {
      "post": {"summary": "Scan a host", "x-riposte-mutating": false, "parameters": [{"$ref": "#/components/parameters/Missing"}]}
    }
  },
  "components": {
    "parameters": {
      "HostId": {"name": "hostId", "in": "path", "required": true, "description": "The host"},
      "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}
    },
    "requestBodies": {
      "Isolation": {"required": true, "content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Isolation"}}}}
    },
    "schemas": {
      "Isolation": {"type": "object", "properties": {"mode": {"$ref": "#/components/schemas/Mode"}, "comment": {"type": "string"}}, "required": ["mode"]},
      "Mode": {"type": "string", "description": "full or selective"},
      "HostBase": {"type": "object", "properties": {"hostname": {"type": "string", "description": "FQDN"}}, "required": ["hostname"]}
    }
  }
}"##;

#[test]
fn user_document_with_refs() {
    let catalog = ApiCatalog::from_openapi("acme-edr.json", USER_DOC).unwrap();
    assert_eq!(catalog.name, "acme-edr.json");
    assert_eq!(catalog.title, "Acme EDR");
    assert_eq!(catalog.server_path, "/api/v2");
    assert_eq!(catalog.endpoints.len(), 4);

    let isolate = endpoint(&catalog, Post, "/hosts/{hostId}/isolate");
    assert_eq!(isolate.summary, "Isolate a host from the network.");
    assert_eq!(isolate.path_params, ["hostId"]);
    // The operation's `reason` overrides the path item's; header and cookie parameters are not
    // the playbook's business.
    assert_eq!(isolate.query.len(), 1);
    assert_eq!(isolate.query[0].name, "reason");
    assert!(isolate.query[0].required);
    assert_eq!(isolate.query[0].description, "Why, for the audit log");
    assert!(isolate.body_required);
    let mode = isolate.body.iter().find(|p| p.name == "mode").unwrap();
    assert!(mode.required);
    assert_eq!(mode.description, "full or selective");
    assert!(
        isolate
            .body
            .iter()
            .any(|p| p.name == "comment" && !p.required)
    );
    assert!(isolate.mutating);

    let register = endpoint(&catalog, Post, "/hosts");
    let mut names: Vec<(&str, bool)> = register
        .body
        .iter()
        .map(|p| (p.name.as_str(), p.required))
        .collect();
    names.sort();
    assert_eq!(names, [("hostname", true), ("os", true)]);
    assert_eq!(endpoint(&catalog, Get, "/hosts").query[0].name, "limit");

    // A dangling $ref is skipped, not fatal.
    let scan = endpoint(&catalog, Post, "/hosts/{hostId}/scan");
    assert!(scan.query.is_empty());
    assert!(!scan.mutating);
    assert_eq!(scan.path_params, ["hostId"]);

    let call = fstring("/hosts/", "/isolate?reason=triage");
    let hit = found(catalog.lookup(Post, &call, "/api/v2", None));
    assert_eq!(hit, isolate);
    assert_eq!(
        hit.missing_required(&call, Some(&[]), Some(&[])),
        [missing("mode", ParamLocation::Body, false)]
    );
}

#[test]
fn ref_cycles_terminate() {
    let doc = r##"{
      "openapi": "3.0.3",
      "info": {"title": "loops", "version": "1"},
      "paths": {
        "/a": {
          "parameters": [{"$ref": "#/components/parameters/P"}],
          "post": {
            "summary": "loop",
            "parameters": {"$ref": "#/paths/~1a/post/parameters"},
            "requestBody": {"$ref": "#/components/requestBodies/B"}
          }
        },
        "/b": {"$ref": "#/paths/~1b"}
      },
      "components": {
        "parameters": {"P": {"$ref": "#/components/parameters/Q"}, "Q": {"$ref": "#/components/parameters/P"}},
        "requestBodies": {"B": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/S"}}}}},
        "schemas": {
          "S": {"allOf": [{"$ref": "#/components/schemas/S"}, {"$ref": "#/components/schemas/T"}], "properties": {"s": {"$ref": "#/components/schemas/S"}}},
          "T": {"$ref": "#/components/schemas/T"}
        }
      }
    }"##;
    let catalog = ApiCatalog::from_openapi("loops", doc).unwrap();
    assert_eq!(catalog.endpoints.len(), 1);
    let a = endpoint(&catalog, Post, "/a");
    assert!(a.query.is_empty());
    assert_eq!(a.body.len(), 1);
    assert_eq!(a.body[0].name, "s");
}

#[test]
fn aws_style_user_document() {
    // The APIs.guru shape: Action and Version as query parameters, the fields in a form.
    let doc = r##"{
      "openapi": "3.0.0",
      "info": {"title": "Amazon SQS", "version": "2012-11-05"},
      "servers": [{"url": "https://sqs.us-east-1.amazonaws.com"}],
      "paths": {
        "/#Action=PurgeQueue": {"post": {
          "parameters": [{"name": "Action", "in": "query", "required": true, "schema": {"type": "string", "enum": ["PurgeQueue"]}}],
          "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["QueueUrl"], "properties": {"QueueUrl": {"type": "string"}}}}}}
        }},
        "/": {"get": {"summary": "by enum", "parameters": [{"name": "Action", "in": "query", "required": true, "schema": {"type": "string", "enum": ["ListQueues"]}}]}}
      }
    }"##;
    let catalog = ApiCatalog::from_openapi("sqs", doc).unwrap();
    let purge = action(&catalog, Post, "PurgeQueue");
    assert_eq!(purge.path, "/");
    assert_eq!(purge.summary, "");
    assert!(purge.query.is_empty());
    assert!(purge.mutating);
    let list = action(&catalog, Get, "ListQueues");
    assert!(!list.mutating);
    assert_eq!(
        found(catalog.lookup(
            Post,
            &PathPattern::parse_literal("/"),
            "",
            Some("PurgeQueue")
        )),
        purge
    );
}

#[test]
fn invalid_json_names_the_line() {
    let text = "{\n  \"openapi\": \"3.0.0\",\n  \"paths\": {,}\n}";
    let err = ApiCatalog::from_openapi("broken.json", text).unwrap_err();
    match &err {
        CatalogError::Json {
            line,
            column,
            message,
        } => {
            assert_eq!(*line, 3);
            assert!(*column > 0);
            assert!(
                !message.contains("line"),
                "the position is not repeated: {message}"
            );
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.contains("line 3"), "{shown}");
    assert!(shown.contains("not valid JSON"), "{shown}");
}

#[test]
fn swagger_2_is_refused_with_a_conversion_hint() {
    let err = ApiCatalog::from_openapi(
        "old.json",
        r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        CatalogError::Swagger2 {
            version: "2.0".into()
        }
    );
    let shown = err.to_string();
    assert!(
        shown.contains("Swagger 2.0") && shown.contains("OpenAPI 3"),
        "{shown}"
    );
    assert!(shown.contains("convert"), "{shown}");
}

#[test]
fn yaml_is_refused_with_a_conversion_hint() {
    let yaml = "# Acme API\nopenapi: 3.0.0\ninfo:\n  title: Acme\n  version: '1'\npaths: {}\n";
    let err = ApiCatalog::from_openapi("acme.yaml", yaml).unwrap_err();
    assert_eq!(err, CatalogError::Yaml);
    let shown = err.to_string();
    assert!(shown.contains("YAML") && shown.contains("JSON"), "{shown}");
    assert_eq!(
        ApiCatalog::from_openapi("a.yaml", "---\nopenapi: 3.1.0\n").unwrap_err(),
        CatalogError::Yaml
    );
}

#[test]
fn other_unusable_documents() {
    let parse = |text: &str| ApiCatalog::from_openapi("x", text).unwrap_err();
    assert_eq!(parse(""), CatalogError::Empty);
    assert_eq!(parse(" \n\t"), CatalogError::Empty);
    assert_eq!(parse("[1, 2]"), CatalogError::NotAnObject);
    assert_eq!(parse(r#"{"info": {}}"#), CatalogError::MissingVersion);
    assert_eq!(
        parse(r#"{"openapi": "4.0.0", "paths": {}}"#),
        CatalogError::UnsupportedVersion {
            version: "4.0.0".into()
        }
    );
    assert_eq!(
        parse(r#"{"openapi": "3.0.0", "info": {}}"#),
        CatalogError::MissingPaths
    );
    assert_eq!(
        parse(r#"{"openapi": "3.0.0", "paths": []}"#),
        CatalogError::MissingPaths
    );
    assert!(
        parse(r#"{"openapi": "3.0.0", "paths": {"#)
            .to_string()
            .contains("line 1")
    );
    // Deep nesting is a JSON error, not a crash.
    let deep = format!(
        "{{\"openapi\": \"3.0.0\", \"paths\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(matches!(parse(&deep), CatalogError::Json { .. }));

    // A byte-order mark and a 3.1 document with no servers and no title are fine.
    let catalog =
        ApiCatalog::from_openapi("bare", "\u{feff}{\"openapi\": \"3.1.0\", \"paths\": {}}")
            .unwrap();
    assert_eq!(catalog.title, "bare");
    assert_eq!(catalog.server_path, "");
    assert!(catalog.endpoints.is_empty());
}

#[test]
fn a_leading_hole_may_stand_for_a_prefix() {
    let graph = builtin("graph");
    // f"{base}/users/{upn}/revokeSignInSessions"
    let call = PathPattern::from_parts(&[
        PathPart::Hole,
        PathPart::Text("/users/".into()),
        PathPart::Hole,
        PathPart::Text("/revokeSignInSessions".into()),
    ]);
    let revoke = found(graph.lookup(Post, &call, "/v1.0", None));
    assert_eq!(revoke.path, "/users/{user-id}/revokeSignInSessions");
    // One segment of holes still reads as one segment when that fits.
    let call = fstring("", "/comments");
    let vt = builtin("virustotal");
    match vt.lookup(Get, &call, "/api/v3", None) {
        Lookup::Ambiguous { candidates } => assert!(candidates.len() >= 4),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[test]
fn long_and_odd_paths_end_quickly() {
    let graph = builtin("graph");
    let long = format!("/{}", "x".repeat(100_000));
    assert!(matches!(
        graph.lookup(Get, &PathPattern::parse_literal(&long), "", None),
        Lookup::NotFound { suggestion: None }
    ));
    let deep = "/a".repeat(50_000);
    assert!(matches!(
        graph.lookup(Get, &PathPattern::parse_literal(&deep), "", None),
        Lookup::NotFound { suggestion: None }
    ));
    let odd = PathPattern::parse_literal("/{/}/??&&==#?");
    assert!(matches!(
        graph.lookup(Delete, &odd, "/v1.0", None),
        Lookup::NotFound { .. }
    ));
}

#[test]
fn templates_with_text_around_parameters() {
    let catalog = ApiCatalog::from_openapi(
        "reports",
        r#"{"openapi": "3.0.0", "paths": {
            "/reports/getEmailActivity(period='{period}')": {"get": {"summary": "email activity"}},
            "/files/{id}.json": {"get": {"summary": "a file as JSON"}},
            "/files/{a}-{b}-{c}": {"get": {"summary": "three parts"}}
        }}"#,
    )
    .unwrap();
    let report = found(catalog.lookup(
        Get,
        &PathPattern::parse_literal("/reports/getEmailActivity(period='D7')"),
        "",
        None,
    ));
    assert_eq!(report.path_params, ["period"]);
    assert_eq!(
        found(catalog.lookup(
            Get,
            &PathPattern::parse_literal("/files/abc.json"),
            "",
            None
        ))
        .summary,
        "a file as JSON"
    );
    assert_eq!(
        found(catalog.lookup(Get, &PathPattern::parse_literal("/files/x-y-z"), "", None)).summary,
        "three parts"
    );
    let long = format!("/files/{}", "-".repeat(50_000));
    assert_eq!(
        found(catalog.lookup(Get, &PathPattern::parse_literal(&long), "", None)).summary,
        "three parts"
    );
    let long = format!("/files/{}", "x".repeat(50_000));
    assert!(matches!(
        catalog.lookup(Get, &PathPattern::parse_literal(&long), "", None),
        Lookup::NotFound { .. }
    ));
    // An f-string segment with text in it could be either.
    let mixed = fstring("/files/", ".json");
    assert!(matches!(
        catalog.lookup(Get, &mixed, "", None),
        Lookup::Ambiguous { .. }
    ));
    let forgotten = PathPattern::parse_literal("/files/{file_id}.json");
    let endpoint = found(catalog.lookup(Get, &forgotten, "", None));
    assert_eq!(
        endpoint.missing_required(&forgotten, Some(&[]), Some(&[])),
        [missing("id", ParamLocation::Path, true)]
    );
}
