"""Review and sign-off (审核、签发): chains per agency, drafts, the 办理审批单. See docs/review.md."""
