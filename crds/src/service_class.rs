//! Which Services a ferrolb component serves, by `spec.loadBalancerClass`: the rule the
//! operator allocates by, the speaker announces by and the webhook judges by, so the three
//! never disagree about whose Service it is.
//!
//! As in MetalLB, a component started without `--lb-class` (or with it empty) serves only
//! Services that name no class, and one started with `--lb-class C` serves only Services of
//! class `C`. A Service of any other class belongs to another load balancer: ferrolb neither
//! gives it an IP, nor announces the IPs its controller writes, nor judges its annotations.

use k8s_openapi::api::core::v1::Service;

/// Whether a component whose `--lb-class` is `class_flag` serves a Service whose
/// `spec.loadBalancerClass` is `service_class`. An empty flag is the same as no flag.
pub fn serves(class_flag: Option<&str>, service_class: Option<&str>) -> bool {
    class_flag.unwrap_or_default() == service_class.unwrap_or_default()
}

/// Whether `service` is a `type: LoadBalancer` Service of the class a component whose
/// `--lb-class` is `class_flag` serves.
pub fn serves_service(class_flag: Option<&str>, service: &Service) -> bool {
    service.spec.as_ref().is_some_and(|spec| {
        spec.type_.as_deref() == Some("LoadBalancer")
            && serves(class_flag, spec.load_balancer_class.as_deref())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ServiceSpec;

    fn service(type_: &str, class: Option<&str>) -> Service {
        Service {
            spec: Some(ServiceSpec {
                type_: Some(type_.into()),
                load_balancer_class: class.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn without_a_class_flag_only_services_without_a_class_are_served() {
        assert!(serves(None, None));
        assert!(!serves(None, Some("example.com/other")));
    }

    #[test]
    fn an_empty_class_flag_is_the_same_as_none() {
        assert!(serves(Some(""), None));
        assert!(!serves(Some(""), Some("example.com/other")));
    }

    #[test]
    fn with_a_class_flag_only_services_of_that_class_are_served() {
        assert!(serves(Some("ferrolb.io/lb"), Some("ferrolb.io/lb")));
        assert!(!serves(Some("ferrolb.io/lb"), None));
        assert!(!serves(Some("ferrolb.io/lb"), Some("example.com/other")));
    }

    #[test]
    fn only_load_balancer_services_of_the_class_are_served() {
        assert!(serves_service(None, &service("LoadBalancer", None)));
        assert!(!serves_service(None, &service("NodePort", None)));
        assert!(!serves_service(
            None,
            &service("LoadBalancer", Some("example.com/other"))
        ));
        assert!(serves_service(
            Some("example.com/other"),
            &service("LoadBalancer", Some("example.com/other"))
        ));
        assert!(!serves_service(None, &Service::default()));
    }
}
