"""Registering an application (登记申请): applicant, channel, arrival and receipt date, items, scans."""
