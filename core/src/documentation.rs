//! Documentation presets a tier can name (`documentation:` in the policy), and the card
//! sections a tier requires: its own `required_sections` plus those of its preset.
//!
//! `eu-ai-act-annex-iv` asks for the sections that answer the technical documentation of
//! Regulation (EU) 2024/1689 (the AI Act), Annex IV. Each section has a canonical title and
//! the other headings accepted for it (Hugging Face's card template uses some of them), and
//! names the Annex IV point it answers.

use serde::{Deserialize, Serialize};

use crate::card::{Card, Section, normalize_title};
use crate::policy::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum DocumentationPreset {
    /// The technical documentation of the EU AI Act, Annex IV.
    #[serde(rename = "eu-ai-act-annex-iv")]
    EuAiActAnnexIv,
}

impl DocumentationPreset {
    pub fn name(self) -> &'static str {
        match self {
            DocumentationPreset::EuAiActAnnexIv => "eu-ai-act-annex-iv",
        }
    }

    pub fn sections(self) -> &'static [PresetSection] {
        match self {
            DocumentationPreset::EuAiActAnnexIv => ANNEX_IV_SECTIONS,
        }
    }
}

/// A section a preset requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresetSection {
    pub title: &'static str,
    /// Other headings accepted for it, compared as titles are (case, spaces, final colon).
    pub aliases: &'static [&'static str],
    /// The Annex IV point it answers, e.g. `2(e)`.
    pub point: &'static str,
}

/// Annex IV's sections, in the order of the points they answer.
pub const ANNEX_IV_SECTIONS: &[PresetSection] = &[
    PresetSection {
        title: "Intended purpose",
        aliases: &["Intended use", "Intended uses", "Purpose"],
        point: "1(a)",
    },
    PresetSection {
        title: "Development process",
        aliases: &["Development", "Training procedure", "Methodology"],
        point: "2(a)–(c)",
    },
    PresetSection {
        title: "Data",
        aliases: &[
            "Training data",
            "Datasets",
            "Data requirements",
            "Data governance",
        ],
        point: "2(d)",
    },
    PresetSection {
        title: "Human oversight",
        aliases: &["Human oversight measures"],
        point: "2(e)",
    },
    PresetSection {
        title: "Pre-determined changes",
        aliases: &["Predetermined changes", "Planned changes"],
        point: "2(f)",
    },
    PresetSection {
        title: "Validation and testing",
        aliases: &[
            "Evaluation",
            "Testing",
            "Validation",
            "Testing and validation",
        ],
        point: "2(g)",
    },
    PresetSection {
        title: "Accuracy, robustness and cybersecurity",
        aliases: &[
            "Accuracy, robustness, and cybersecurity",
            "Robustness and cybersecurity",
            "Cybersecurity",
        ],
        point: "2(h), 3",
    },
    PresetSection {
        title: "Risk management",
        aliases: &[
            "Risk management system",
            "Risks",
            "Bias, risks, and limitations",
        ],
        point: "5",
    },
    PresetSection {
        title: "Post-market monitoring plan",
        aliases: &["Post-market monitoring", "Monitoring plan", "Monitoring"],
        point: "9",
    },
    PresetSection {
        title: "Standards applied",
        aliases: &["Harmonised standards", "Harmonized standards", "Standards"],
        point: "7",
    },
];

/// A section a tier requires of its cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredSection {
    pub title: String,
    pub aliases: &'static [&'static str],
    /// Set for a preset's section: the preset and the point it answers.
    pub preset: Option<(DocumentationPreset, &'static str)>,
}

impl RequiredSection {
    /// The card's section answering this one: the title's, else the first alias found.
    pub fn find<'c>(&self, card: &'c Card) -> Option<&'c Section> {
        std::iter::once(self.title.as_str())
            .chain(self.aliases.iter().copied())
            .find_map(|title| card.section(title))
    }

    fn answers(&self, title: &str) -> bool {
        let wanted = normalize_title(title);
        std::iter::once(self.title.as_str())
            .chain(self.aliases.iter().copied())
            .any(|t| normalize_title(t) == wanted)
    }
}

/// The sections `tier` requires: its `required_sections`, then its preset's. A title of the
/// tier's own that a preset section answers (its title or an alias) is asked for once, as
/// the preset's.
pub fn required_sections(policy: &Policy, tier: &str) -> Vec<RequiredSection> {
    let Some(rules) = policy.tier(tier) else {
        return Vec::new();
    };
    let mut sections: Vec<RequiredSection> = Vec::new();
    if let Some(preset) = rules.documentation {
        for section in preset.sections() {
            sections.push(RequiredSection {
                title: section.title.to_owned(),
                aliases: section.aliases,
                preset: Some((preset, section.point)),
            });
        }
    }
    let mut own: Vec<RequiredSection> = Vec::new();
    for title in &rules.required_sections {
        let covered = sections.iter().chain(&own).any(|s| s.answers(title));
        if !covered {
            own.push(RequiredSection {
                title: title.clone(),
                aliases: &[],
                preset: None,
            });
        }
    }
    own.extend(sections);
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preset_adds_its_sections_after_the_tiers_own() {
        let policy = Policy::parse(
            "p.yml",
            "tiers:\n  high:\n    required_sections: [Limitations, Data]\n    documentation: eu-ai-act-annex-iv\n",
        )
        .expect("valid");
        let titles: Vec<String> = required_sections(&policy, "high")
            .into_iter()
            .map(|s| s.title)
            .collect();
        assert_eq!(titles.len(), 1 + ANNEX_IV_SECTIONS.len(), "{titles:?}");
        assert_eq!(titles[0], "Limitations");
        assert_eq!(titles[1], "Intended purpose");
        let refused = Policy::parse("p.yml", "tiers:\n  high:\n    documentation: annex-4\n");
        assert!(
            refused.is_err_and(|problems| problems[0].to_string().contains("eu-ai-act-annex-iv"))
        );
    }
}
