//! The roster on screen: the rows as last read from the store, the filter,
//! the selected row and the scroll position, and enrol mode (the selected
//! student gets the next new card).

use crate::domain::{RosterRow, Student};
use crate::rules::{Counts, tally};

#[derive(Clone, Debug)]
pub struct Roster {
    rows: Vec<RosterRow>,
    counts: Counts,
    filter: String,
    /// Index into `visible_rows()`.
    selected: usize,
    /// First visible row of the table.
    offset: usize,
    /// Roster rows that fit on screen; the event loop keeps it current.
    page_rows: usize,
    /// Enrol mode: each tap of a new card binds the selected student.
    enrol: bool,
}

impl Default for Roster {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            counts: Counts::default(),
            filter: String::new(),
            selected: 0,
            offset: 0,
            page_rows: 10,
            enrol: false,
        }
    }
}

impl Roster {
    pub fn rows(&self) -> &[RosterRow] {
        &self.rows
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    pub fn selected(&self) -> usize {
        self.selected
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn enrolling(&self) -> bool {
        self.enrol
    }

    pub(super) fn set_rows(&mut self, rows: Vec<RosterRow>) {
        self.counts = tally(&rows);
        self.rows = rows;
        self.clamp_selection();
    }

    /// Rows matching the filter (name or student id, ignoring case).
    pub fn visible_rows(&self) -> Vec<&RosterRow> {
        let needle = self.filter.to_lowercase();
        self.rows
            .iter()
            .filter(|row| {
                needle.is_empty()
                    || row.student.name.to_lowercase().contains(&needle)
                    || row.student.student_no.to_lowercase().contains(&needle)
            })
            .collect()
    }

    pub fn selected_row(&self) -> Option<&RosterRow> {
        self.visible_rows().get(self.selected).copied()
    }

    /// A student on the roster, filtered out or not.
    pub fn student(&self, student_id: i64) -> Option<&Student> {
        self.rows
            .iter()
            .map(|r| &r.student)
            .find(|s| s.id == student_id)
    }

    pub(super) fn set_page_rows(&mut self, rows: usize) {
        self.page_rows = rows;
        self.scroll_into_view();
    }

    pub(super) fn page_rows(&self) -> usize {
        self.page_rows.max(1)
    }

    /// Turns enrol mode on or off; on, it starts at a student without a card.
    pub(super) fn toggle_enrol(&mut self) {
        self.enrol = !self.enrol;
        let on_card_holder = self.selected_row().is_some_and(|r| r.has_card);
        if self.enrol && on_card_holder {
            self.select_next_without_card();
        }
    }

    /// In enrol mode: moves to the next student without a card.
    pub(super) fn select_next_without_card(&mut self) {
        let rows = self.visible_rows();
        let next = (self.selected + 1..rows.len())
            .chain(0..self.selected)
            .find(|&i| !rows[i].has_card);
        if let Some(next) = next {
            self.selected = next;
            self.scroll_into_view();
        }
    }

    /// Changes the filter; the selection goes back to the first match.
    pub(super) fn edit_filter(&mut self, edit: impl FnOnce(&mut String)) {
        edit(&mut self.filter);
        self.selected = 0;
        self.offset = 0;
    }

    /// Esc on the roster: drops the filter, keeping the selection in range.
    pub(super) fn clear_filter(&mut self) {
        self.filter.clear();
        self.clamp_selection();
    }

    pub(super) fn move_by(&mut self, delta: isize) {
        let count = self.visible_rows().len();
        if count == 0 {
            self.selected = 0;
            return;
        }
        let target = (self.selected as isize).saturating_add(delta);
        self.selected = target.clamp(0, count as isize - 1) as usize;
        self.scroll_into_view();
    }

    fn clamp_selection(&mut self) {
        let count = self.visible_rows().len();
        self.selected = self.selected.min(count.saturating_sub(1));
        self.scroll_into_view();
    }

    /// Keeps the selected row on screen, moving the view as little as possible.
    fn scroll_into_view(&mut self) {
        let page = self.page_rows();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + page {
            self.offset = self.selected + 1 - page;
        }
        let count = self.visible_rows().len();
        self.offset = self.offset.min(count.saturating_sub(page));
    }
}
