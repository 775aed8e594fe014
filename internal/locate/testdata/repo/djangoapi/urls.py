from django.urls import path, re_path

urlpatterns = [
    path("api/books/<int:pk>/", views.book_detail),
    re_path(r"^api/shelves/(?P<pk>[0-9]+)/$", views.shelf),
]
