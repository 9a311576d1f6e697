using Nv.Host.Protection;

namespace Nv.Unit.Tests.Protection;

public sealed class EncryptionOptionsValidatorTests
{
    private static Microsoft.Extensions.Options.ValidateOptionsResult Check(params (string DtoType, string Rule)[] subjects)
    {
        var options = new EncryptionOptions();
        foreach (var (dtoType, rule) in subjects)
        {
            options.Subjects[dtoType] = rule;
        }

        return new EncryptionOptionsValidator().Validate(null, options);
    }

    [Fact]
    public void Types_mapped_straight_to_subjects_are_accepted() =>
        Assert.True(Check(("Order", "Customer:customerId"), ("Invoice", "Customer:customerId"), ("Session", "User:userId")).Succeeded);

    [Fact]
    public void A_type_mapped_to_itself_is_refused_in_one_line_because_its_subjects_could_never_be_erased()
    {
        var result = Check(("Employee", "Employee:managerId"));

        var message = Assert.Single(result.Failures!);
        Assert.DoesNotContain('\n', message);
        Assert.Contains("Nv:Encryption:Subjects:Employee = 'Employee:managerId'", message, StringComparison.Ordinal);
        Assert.Contains("no Employee can be erased", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_of_mappings_is_refused_naming_the_link_whose_subject_type_is_mapped()
    {
        // Order lines sealed under their order's key: erasing an order is refused (Order is mapped), and erasing the
        // customer destroys the customer's keys only, so the lines would stay readable for ever.
        var result = Check(("OrderLine", "Order:orderId"), ("Order", "Customer:customerId"));

        var message = Assert.Single(result.Failures!);
        Assert.Contains("Nv:Encryption:Subjects:OrderLine = 'Order:orderId' names Order, which is mapped itself", message, StringComparison.Ordinal);
    }
}
