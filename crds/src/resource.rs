//! How a metallb.io kind is declared: its root object (metadata, spec, status), its
//! `kube::Resource` identity, and the CustomResourceDefinition version generated from it.
//!
//! The kinds are declared with [`metallb_kind!`] rather than `#[derive(CustomResource)]` because
//! MetalLB lets users omit `spec` on several kinds (an `L2Advertisement` with no spec advertises
//! every pool), and a derived root type would refuse such objects when reading them back.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinitionVersion,
    CustomResourceSubresourceStatus, CustomResourceSubresources, CustomResourceValidation,
    JSONSchemaProps,
};
use schemars::JsonSchema;

/// The API group of every kind, shared with MetalLB so existing YAML applies unchanged.
pub const GROUP: &str = "metallb.io";

/// A column `kubectl get` prints for a kind.
#[derive(Clone, Copy, Debug)]
pub struct PrinterColumn {
    pub name: &'static str,
    pub type_: &'static str,
    pub json_path: &'static str,
    /// 0 shows the column always, higher only with `-o wide`.
    pub priority: i32,
    pub description: &'static str,
}

/// What the CRD generator needs to know about one version of one kind.
pub trait MetallbKind: kube::Resource<DynamicType = ()> + JsonSchema {
    /// Kind name, as in `kind:`.
    const KIND: &'static str;
    /// API version, as in the part after `metallb.io/`.
    const VERSION: &'static str;
    /// Plural resource name, as in the URL.
    const PLURAL: &'static str;
    /// Columns for `kubectl get`.
    const PRINTER_COLUMNS: &'static [PrinterColumn];
    /// Set for versions that are still served but deprecated.
    const DEPRECATION_WARNING: Option<&'static str> = None;
}

/// The OpenAPI v3 schema of a kind, in the structural form the API server requires.
///
/// Optional fields are not marked `nullable`, as in MetalLB's CRDs: the API server then prunes
/// explicit nulls, and publishes the full field tree that `kubectl explain` shows.
pub fn structural_schema<K: JsonSchema>() -> JSONSchemaProps {
    let generator = schemars::generate::SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(kube::core::schema::StructuralSchemaRewriter)
        .with_transform(kube::core::schema::OptionalEnum)
        .with_transform(kube::core::schema::OptionalIntOrString)
        .into_generator();
    let mut schema = serde_json::to_value(generator.into_root_schema_for::<K>())
        .expect("a schemars schema serializes to JSON");
    tidy(&mut schema);
    serde_json::from_value(schema)
        .expect("schemars output of a metallb.io type is a valid JSONSchemaProps")
}

/// Drops the `nullable: true` that OpenAPI 3 settings put on optional fields, and joins the
/// lines of each description that doc comments wrapped (keeping paragraph breaks) so
/// `kubectl explain` reflows them to the terminal's width.
fn tidy(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map
                .get("nullable")
                .is_some_and(serde_json::Value::is_boolean)
            {
                map.remove("nullable");
            }
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(text) if key == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| {
                                paragraph
                                    .split('\n')
                                    .map(str::trim)
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => tidy(other),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// One `spec.versions[]` entry of a CRD, with the status subresource every kind has.
pub fn crd_version<K: MetallbKind>(storage: bool) -> CustomResourceDefinitionVersion {
    let columns = K::PRINTER_COLUMNS
        .iter()
        .map(|c| CustomResourceColumnDefinition {
            name: c.name.to_owned(),
            type_: c.type_.to_owned(),
            json_path: c.json_path.to_owned(),
            priority: (c.priority != 0).then_some(c.priority),
            description: (!c.description.is_empty()).then(|| c.description.to_owned()),
            format: None,
        })
        .collect::<Vec<_>>();
    CustomResourceDefinitionVersion {
        name: K::VERSION.to_owned(),
        served: true,
        storage,
        deprecated: K::DEPRECATION_WARNING.map(|_| true),
        deprecation_warning: K::DEPRECATION_WARNING.map(str::to_owned),
        additional_printer_columns: (!columns.is_empty()).then_some(columns),
        schema: Some(CustomResourceValidation {
            open_api_v3_schema: Some(structural_schema::<K>()),
        }),
        subresources: Some(CustomResourceSubresources {
            status: Some(CustomResourceSubresourceStatus(serde_json::json!({}))),
            scale: None,
        }),
        selectable_fields: None,
    }
}

/// Declares the root object of a metallb.io kind and its `kube::Resource` identity.
///
/// The spec field takes the attributes written before it: `#[serde(default)]` makes the
/// spec optional on the wire, as MetalLB's `json:"spec,omitempty"` does.
macro_rules! metallb_kind {
    (
        $(#[$doc:meta])*
        pub struct $kind:ident {
            version: $version:literal,
            plural: $plural:literal,
            $(#[$spec_attr:meta])*
            spec: $spec:ty,
            status: $status:ty,
            columns: [$($column:expr),* $(,)?],
            $(deprecation: $deprecation:literal,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Deserialize, schemars::JsonSchema)]
        pub struct $kind {
            #[schemars(skip)]
            pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            $(#[$spec_attr])*
            pub spec: $spec,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub status: Option<$status>,
        }

        impl $kind {
            /// A new object with this name and spec, and no status.
            pub fn new(name: &str, spec: $spec) -> Self {
                Self {
                    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        name: Some(name.to_owned()),
                        ..Default::default()
                    },
                    spec,
                    status: None,
                }
            }
        }

        impl serde::Serialize for $kind {
            fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut obj = ser.serialize_struct(stringify!($kind), 5)?;
                obj.serialize_field("apiVersion", &concat!("metallb.io/", $version))?;
                obj.serialize_field("kind", stringify!($kind))?;
                obj.serialize_field("metadata", &self.metadata)?;
                obj.serialize_field("spec", &self.spec)?;
                if let Some(status) = &self.status {
                    obj.serialize_field("status", status)?;
                }
                obj.end()
            }
        }

        impl kube::Resource for $kind {
            type DynamicType = ();
            type Scope = kube::core::NamespaceResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                stringify!($kind).into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                $crate::resource::GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                &mut self.metadata
            }
        }

        impl $crate::resource::MetallbKind for $kind {
            const KIND: &'static str = stringify!($kind);
            const VERSION: &'static str = $version;
            const PLURAL: &'static str = $plural;
            const PRINTER_COLUMNS: &'static [$crate::resource::PrinterColumn] = &[$($column),*];
            $(const DEPRECATION_WARNING: Option<&'static str> = Some($deprecation);)?
        }
    };
}

pub(crate) use metallb_kind;

/// A printer column shown always.
pub(crate) const fn column(
    name: &'static str,
    type_: &'static str,
    json_path: &'static str,
) -> PrinterColumn {
    PrinterColumn {
        name,
        type_,
        json_path,
        priority: 0,
        description: "",
    }
}

/// A printer column shown only with `-o wide`.
pub(crate) const fn wide_column(
    name: &'static str,
    type_: &'static str,
    json_path: &'static str,
) -> PrinterColumn {
    PrinterColumn {
        priority: 10,
        ..column(name, type_, json_path)
    }
}
