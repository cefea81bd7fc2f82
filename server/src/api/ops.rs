//! The operation table: every endpoint once, with its method, path, documentation and
//! schemas. The router and the OpenAPI document are both built from it, so the served
//! spec cannot drift from what is routed.

use axum::http::Method;
use axum::routing::MethodRouter;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, SchemaFormat};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ArrayBuilder, ComponentsBuilder, ContentBuilder, InfoBuilder, ObjectBuilder, OpenApi,
    OpenApiBuilder, PathItem, PathsBuilder, Ref, RefOr, Required, ResponseBuilder, Schema, Type,
};
use utoipa::{PartialSchema, ToSchema};

use super::AppState;
use super::wire::Problem;

/// A schema with the named component schemas it refers to.
#[derive(Clone)]
pub(crate) struct Shape {
    schema: RefOr<Schema>,
    components: Vec<(String, RefOr<Schema>)>,
}

fn components_of<T: ToSchema>() -> Vec<(String, RefOr<Schema>)> {
    let mut list = vec![(T::name().into_owned(), T::schema())];
    T::schemas(&mut list);
    list
}

/// One `T`.
pub(crate) fn one<T: ToSchema>() -> Shape {
    Shape {
        schema: RefOr::Ref(Ref::from_schema_name(T::name())),
        components: components_of::<T>(),
    }
}

/// A list of `T`.
pub(crate) fn many<T: ToSchema>() -> Shape {
    Shape {
        schema: ArrayBuilder::new()
            .items(RefOr::Ref(Ref::from_schema_name(T::name())))
            .build()
            .into(),
        components: components_of::<T>(),
    }
}

/// An inline schema (`String`, `serde_json::Value`, …).
pub(crate) fn inline<T: PartialSchema>() -> Shape {
    Shape {
        schema: T::schema(),
        components: Vec::new(),
    }
}

/// A schema built at run time (the settings groups are described by a table).
pub(crate) fn raw(schema: RefOr<Schema>) -> Shape {
    Shape {
        schema,
        components: Vec::new(),
    }
}

/// `null`.
pub(crate) fn nothing() -> Shape {
    Shape {
        schema: ObjectBuilder::new().schema_type(Type::Null).build().into(),
        components: Vec::new(),
    }
}

/// A query parameter.
#[derive(Clone)]
pub(crate) struct Query {
    name: &'static str,
    description: &'static str,
    required: bool,
    kind: Type,
    range: Option<(f64, f64)>,
}

/// An optional text query parameter.
pub(crate) fn query(name: &'static str, description: &'static str) -> Query {
    Query {
        name,
        description,
        required: false,
        kind: Type::String,
        range: None,
    }
}

/// A required text query parameter.
pub(crate) fn query_required(name: &'static str, description: &'static str) -> Query {
    Query {
        required: true,
        ..query(name, description)
    }
}

/// An optional integer query parameter.
pub(crate) fn query_int(name: &'static str, description: &'static str) -> Query {
    Query {
        kind: Type::Integer,
        ..query(name, description)
    }
}

/// Paging parameters of list endpoints.
pub(crate) fn paging() -> Vec<Query> {
    vec![
        Query {
            range: Some((1.0, f64::from(u32::MAX))),
            ..query_int("page", "1-based page number (default 1).")
        },
        Query {
            range: Some((1.0, 1000.0)),
            ..query_int("pageSize", "Items per page, 1–1000 (default 100).")
        },
    ]
}

/// One endpoint.
pub(crate) struct Op {
    pub method: Method,
    pub path: &'static str,
    tag: &'static str,
    summary: &'static str,
    body: Option<Shape>,
    data: Shape,
    queries: Vec<Query>,
    /// Whether a bearer token is required.
    pub secured: bool,
    /// Whether the response is the bare object, not the envelope (`auth/token`).
    bare: bool,
    /// Whether the request queues a job: `202` with the job, or `data` under
    /// `Prefer: wait`.
    job: bool,
    /// Whether the answer can also be a CSV or XLSX file (`format`, `Accept`).
    exports: bool,
    /// Whether the answer is a document (PDF or HTML, `format`, `Accept`), not JSON.
    document: bool,
    /// Whether the request calls a region's Azure Stack Hub endpoints (and so can answer
    /// `502 region_failed`).
    region: bool,
    pub route: MethodRouter<AppState>,
}

impl Op {
    /// An endpoint answering `data` in the envelope; secured unless [`Op::public`].
    pub(crate) fn new(
        method: Method,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
        route: MethodRouter<AppState>,
    ) -> Self {
        Op {
            method,
            path,
            tag,
            summary,
            body: None,
            data: nothing(),
            queries: Vec::new(),
            secured: true,
            bare: false,
            job: false,
            exports: false,
            document: false,
            region: false,
            route,
        }
    }

    /// The request body's schema.
    pub(crate) fn body(mut self, shape: Shape) -> Self {
        self.body = Some(shape);
        self
    }

    /// The response's `data` schema.
    pub(crate) fn data(mut self, shape: Shape) -> Self {
        self.data = shape;
        self
    }

    /// Query parameters.
    pub(crate) fn queries(mut self, queries: Vec<Query>) -> Self {
        self.queries.extend(queries);
        self
    }

    /// No bearer token needed.
    pub(crate) fn public(mut self) -> Self {
        self.secured = false;
        self
    }

    /// The response is `data` itself, not wrapped.
    pub(crate) fn bare(mut self) -> Self {
        self.bare = true;
        self
    }

    /// The request queues a job ([`crate::jobs`]): it answers `202 Accepted` with the
    /// job (and its URL in `Location`), or `data` when the client sends `Prefer: wait=N`
    /// and the job ends within N seconds.
    pub(crate) fn job(mut self) -> Self {
        self.job = true;
        self
    }

    /// The request calls a region's stamp: `502 region_failed` when the stamp refuses or
    /// cannot be reached, the message naming the region and why.
    pub(crate) fn reaches_region(mut self) -> Self {
        self.region = true;
        self
    }

    /// The answer can also be a file ([`super::export`]): `format=json|csv|xlsx`, or an
    /// `Accept` header naming CSV or XLSX.
    pub(crate) fn exports(mut self) -> Self {
        self.exports = true;
        self
    }

    /// The answer is a PDF or HTML document (`format=pdf|html` or `Accept`).
    pub(crate) fn document(mut self) -> Self {
        self.document = true;
        self
    }
}

fn envelope(data: RefOr<Schema>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .property(
            "code",
            ObjectBuilder::new().schema_type(Type::Integer).build(),
        )
        .required("code")
        .property("data", data)
        .required("data")
        .property(
            "errors",
            ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name("Problem"))),
        )
        .required("errors")
        .build()
        .into()
}

fn error_envelope() -> RefOr<Schema> {
    envelope(ObjectBuilder::new().schema_type(Type::Null).build().into())
}

fn method(m: &Method) -> HttpMethod {
    match *m {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::DELETE => HttpMethod::Delete,
        Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

fn operation_id(op: &Op) -> String {
    let mut id = op.method.as_str().to_lowercase();
    for part in op.path.trim_start_matches("/api/v1").split('/') {
        let part = part.trim_matches(|c| c == '{' || c == '}');
        for word in part.split(['-', '.']) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.push(first.to_ascii_uppercase());
                id.extend(chars);
            }
        }
    }
    id
}

/// OpenAPI links from an operation that yields ids to the operations on one of them, so
/// that clients (and schemathesis's stateful phase) can follow a created object, or the
/// first of a list, to its own endpoints: a create's `data.id`, a list's `data[0].id`.
fn links(op: &Op, creates: bool, ops: &[Op]) -> Vec<(String, utoipa::openapi::link::Link)> {
    let pointer = if creates {
        "$response.body#/data/id"
    } else if op.method == Method::GET && !op.path.contains('{') {
        "$response.body#/data/0/id"
    } else {
        return Vec::new();
    };
    let prefix = format!("{}/{{id}}", op.path);
    ops.iter()
        .filter(|t| t.path == prefix || t.path.starts_with(&format!("{prefix}/")))
        .map(|t| {
            let id = operation_id(t);
            // utoipa 5 serialises `operation_id` in snake case, which no OpenAPI tool
            // reads: the field goes in as a raw key of the link instead.
            let mut raw = utoipa::openapi::extensions::Extensions::default();
            raw.insert("operationId".into(), id.clone().into());
            let link = utoipa::openapi::link::LinkBuilder::new()
                .parameter("id", pointer)
                .extensions(Some(raw))
                .build();
            (id, link)
        })
        .collect()
}

/// The OpenAPI document of `ops`.
pub(crate) fn openapi(ops: &[Op]) -> OpenApi {
    let mut components = ComponentsBuilder::new()
        .schema_from::<Problem>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    let mut paths = PathsBuilder::new();
    for op in ops {
        for shape in op.body.iter().chain([&op.data]) {
            for (name, schema) in &shape.components {
                components = components.schema(name.clone(), schema.clone());
            }
        }
        if op.job {
            for (name, schema) in &components_of::<crate::jobs::JobView>() {
                components = components.schema(name.clone(), schema.clone());
            }
        }
        let mut builder = OperationBuilder::new()
            .tag(op.tag)
            .summary(Some(op.summary))
            .operation_id(Some(operation_id(op)));
        for part in op.path.split('/') {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                builder = builder.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .min_length(Some(1))
                                .pattern(Some("^[A-Za-z0-9._:-]+$")),
                        )),
                );
            }
        }
        for q in &op.queries {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name(q.name)
                    .description(Some(q.description))
                    .parameter_in(ParameterIn::Query)
                    .required(if q.required {
                        Required::True
                    } else {
                        Required::False
                    })
                    .schema(Some(match q.range {
                        Some((min, max)) => ObjectBuilder::new()
                            .schema_type(q.kind.clone())
                            .minimum(Some(min))
                            .maximum(Some(max)),
                        None => ObjectBuilder::new().schema_type(q.kind.clone()),
                    })),
            );
        }
        if let Some(body) = &op.body {
            builder = builder.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(body.schema.clone()))
                            .build(),
                    )
                    .build(),
            ));
        }
        let ok_schema = if op.bare {
            op.data.schema.clone()
        } else {
            envelope(op.data.schema.clone())
        };
        let ok_status = if op.method == Method::POST && op.summary.starts_with("Create") {
            "201"
        } else {
            "200"
        };
        let mut success = ResponseBuilder::new().description("Success.").content(
            "application/json",
            ContentBuilder::new().schema(Some(ok_schema)).build(),
        );
        if op.exports {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name("format")
                    .description(Some(
                        "json (default), csv or xlsx: a file of every matching row (paged \
                         only when page or pageSize is given). Accept: text/csv or the XLSX \
                         media type asks the same.",
                    ))
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["json", "csv", "xlsx"])),
                    )),
            );
            let file = |format: Option<SchemaFormat>| {
                ContentBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(format),
                    ))
                    .build()
            };
            success = success.content("text/csv", file(None)).content(
                stackbill_export::Format::Xlsx.media_type(),
                file(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
            );
        }
        if op.document {
            builder = builder.parameter(
                ParameterBuilder::new()
                    .name("format")
                    .description(Some(
                        "pdf (default) or html; Accept: application/pdf or text/html asks \
                         the same.",
                    ))
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["pdf", "html"])),
                    )),
            );
            let body = |format: Option<SchemaFormat>| {
                ContentBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .format(format),
                    ))
                    .build()
            };
            success = ResponseBuilder::new()
                .description("The document.")
                .content(
                    "application/pdf",
                    body(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
                )
                .content("text/html", body(None));
        }
        for (name, link) in links(op, ok_status == "201", ops) {
            success = success.link(name, link);
        }
        builder = builder.response(ok_status, success);
        if op.job {
            builder = builder
                .parameter(
                    ParameterBuilder::new()
                        .name("Prefer")
                        .description(Some(
                            "`wait=N` (seconds, at most 600): answer with the job's outcome \
                             if it ends within N seconds. Without it the job is queued and \
                             the answer is 202.",
                        ))
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some("^wait=[0-9]{1,3}$")),
                        )),
                )
                .response(
                    "202",
                    ResponseBuilder::new()
                        .description("Queued: the job, whose URL is also in Location.")
                        .content(
                            "application/json",
                            ContentBuilder::new()
                                .schema(Some(envelope(Ref::from_schema_name("JobView").into())))
                                .build(),
                        ),
                );
        }
        let mut errors = vec![
            ("400", "Bad input: the error names the field."),
            ("404", "No such object, or outside the caller's scope."),
            (
                "409",
                "Conflicts with the current state, or blocked by dependants.",
            ),
            ("429", "Too many attempts; see Retry-After."),
            ("500", "A bug: the message names the request id to report."),
            ("503", "The database is unavailable."),
        ];
        if op.region {
            errors.push((
                "502",
                "A region's Azure Stack Hub endpoint refused or failed: the message names the region and why.",
            ));
        }
        if op.body.is_some() {
            errors.push(("413", "The body is larger than the API accepts."));
            errors.push(("415", "The body is not declared application/json."));
        }
        if op.secured || op.path.contains("/auth/") {
            errors.push(("401", "Missing, invalid or expired credentials."));
            errors.push(("403", "The caller's role does not allow this."));
        }
        for (status, description) in errors {
            builder = builder.response(
                status,
                ResponseBuilder::new().description(description).content(
                    "application/json",
                    ContentBuilder::new().schema(Some(error_envelope())).build(),
                ),
            );
        }
        if op.secured {
            builder = builder.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        paths = paths.path(op.path, PathItem::new(method(&op.method), builder.build()));
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("StackBill API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Billing for Azure Stack Hub resellers. Every response is an envelope \
                     {code, data, errors}; request keys match case-insensitively; every call \
                     is scoped to the caller's place in the hierarchy.",
                )),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .build()
}

#[cfg(test)]
mod tests {
    /// The statuses the served document lists for `method path`.
    fn statuses(method: &str, path: &str) -> Vec<String> {
        let doc = serde_json::to_value(crate::api::openapi()).unwrap_or_default();
        doc["paths"][path][method]["responses"]
            .as_object()
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn calls_that_reach_a_region_document_its_refusal() {
        for (method, path) in [
            ("post", "/api/v1/regions/{id}/test"),
            ("post", "/api/v1/regions/{id}/collect"),
            ("post", "/api/v1/regions/{id}/process"),
            ("post", "/api/v1/subscriptions/{id}/collect"),
            ("post", "/api/v1/subscriptions"),
            ("put", "/api/v1/subscriptions/{id}"),
            ("delete", "/api/v1/subscriptions/{id}"),
        ] {
            let listed = statuses(method, path);
            assert!(
                listed.contains(&"502".to_owned()),
                "{method} {path}: {listed:?}"
            );
            assert!(
                listed.contains(&"404".to_owned()),
                "{method} {path}: {listed:?}"
            );
        }
        let tenants = statuses("post", "/api/v1/tenants");
        assert!(
            !tenants.is_empty() && !tenants.contains(&"502".to_owned()),
            "{tenants:?}"
        );
    }
}
