"""Tests of the applicant side: online submissions, the queue, look-up, notices, the JSON API."""
