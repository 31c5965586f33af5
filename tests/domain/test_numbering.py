"""The case tracking number: the serial counts by number, so the 10,000th case of an agency's year
follows the 9,999th (as text, '-9999' sorts after '-10000' and the next number was '-10000' twice)."""

from webapp.domain.numbering import case_number, last_serial, number_prefix, serial_of


def test_serials_past_four_digits_count_by_number():
    prefix = number_prefix("SWJ", 2024)
    assert prefix == "SWJ-2024-"
    numbers = ["SWJ-2024-0001", "SWJ-2024-9999", "SWJ-2024-10000", "SWJ-2024-0002"]
    assert last_serial(numbers, prefix) == 10000
    assert case_number(prefix, last_serial(numbers, prefix) + 1) == "SWJ-2024-10001"


def test_numbers_of_another_form_are_passed_over():
    prefix = "SWJ-2024-"
    assert serial_of("SWJ-2024-A12", prefix) is None
    assert serial_of("SWJ-2024-１２", prefix) is None      # full-width digits are not a serial
    assert serial_of("SWJ-2023-0005", prefix) is None
    assert last_serial(["SWJ-2024-A12", "SWJ-2024-0007"], prefix) == 7
    assert last_serial([], prefix) == 0
    assert case_number(prefix, 1) == "SWJ-2024-0001"
