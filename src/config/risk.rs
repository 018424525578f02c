//! `[risk]`: who is at risk (`crate::risk`), with a course's own numbers
//! where one is given (`[risk.course."Networks 101"]`).

use crate::risk::RiskRules;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct RiskConfig {
    pub min_rate_percent: u32,
    pub consecutive_absences: u32,
    pub planned_sessions: u32,
    /// By course name: the rules that differ for that course.
    pub course: BTreeMap<String, CourseRisk>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        let rules = RiskRules::default();
        Self {
            min_rate_percent: rules.min_rate_percent,
            consecutive_absences: rules.consecutive_absences,
            planned_sessions: rules.planned_sessions,
            course: BTreeMap::new(),
        }
    }
}

/// A course's own numbers; what it leaves out is `[risk]`'s.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct CourseRisk {
    pub min_rate_percent: Option<u32>,
    pub consecutive_absences: Option<u32>,
    pub planned_sessions: Option<u32>,
}

impl RiskConfig {
    /// The rules of the course with this name.
    pub fn for_course(&self, name: &str) -> RiskRules {
        let own = self.course.get(name).cloned().unwrap_or_default();
        RiskRules {
            min_rate_percent: own.min_rate_percent.unwrap_or(self.min_rate_percent),
            consecutive_absences: own
                .consecutive_absences
                .unwrap_or(self.consecutive_absences),
            planned_sessions: own.planned_sessions.unwrap_or(self.planned_sessions),
        }
    }

    /// Every set of rules the file gives, with the key it is under: for
    /// the loader's range checks.
    pub fn all(&self) -> Vec<(String, RiskRules)> {
        let mut all = vec![("risk".to_string(), self.for_course(""))];
        for name in self.course.keys() {
            all.push((format!("risk.course.\"{name}\""), self.for_course(name)));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_course_takes_its_own_numbers_and_the_rest_from_risk() {
        let config: RiskConfig = toml::from_str(
            "min_rate_percent = 75\n[course.\"Networks 101\"]\nplanned_sessions = 28\n",
        )
        .unwrap();
        assert_eq!(
            config.for_course("Networks 101"),
            RiskRules {
                min_rate_percent: 75,
                consecutive_absences: 3,
                planned_sessions: 28
            }
        );
        assert_eq!(config.for_course("Physics").planned_sessions, 0);
    }
}
